import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

const version = 1;
const nonceBytes = 12;
const tagBytes = 16;

/**
 * Seals secret values with AES-256-GCM under the platform's secrets key, so the database
 * only ever holds ciphertext. A sealed value is `version(1) | nonce(12) | ciphertext | tag(16)`;
 * a fresh random nonce per value keeps GCM safe for the ~2^32 seals one key may make.
 */
export class SecretBox {
  private readonly key: Buffer;

  /** `key` is the 32 raw bytes of the secrets key (ISLE_SECRETS_KEY, base64-decoded). */
  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error("the secrets key must be 32 bytes (base64 of 32 random bytes)");
    this.key = Buffer.from(key);
  }

  /** Encrypts a value; each call gives different bytes for the same value. */
  seal(plaintext: string): Buffer {
    const nonce = randomBytes(nonceBytes);
    const cipher = createCipheriv("aes-256-gcm", this.key, nonce);
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return Buffer.concat([Buffer.from([version]), nonce, body, cipher.getAuthTag()]);
  }

  /**
   * Decrypts a sealed value. Throws when it was sealed under another key or altered — the
   * error never carries the bytes.
   */
  open(sealed: Buffer): string {
    if (sealed.length < 1 + nonceBytes + tagBytes || sealed[0] !== version) {
      throw new Error("not a sealed secret of a known format");
    }
    const nonce = sealed.subarray(1, 1 + nonceBytes);
    const tag = sealed.subarray(sealed.length - tagBytes);
    const body = sealed.subarray(1 + nonceBytes, sealed.length - tagBytes);
    const decipher = createDecipheriv("aes-256-gcm", this.key, nonce);
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(body), decipher.final()]).toString("utf8");
    } catch {
      throw new Error("the sealed secret does not open with this key (wrong key or altered data)");
    }
  }
}
