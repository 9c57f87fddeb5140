import { defineConfig } from "vite";

// Served by the gateway under /console/: every asset URL carries that prefix and a content
// hash (cached for a year there). Nothing is loaded from another origin, and no inline script
// or style is emitted, so the gateway's `default-src 'self'` policy holds.
export default defineConfig({
  base: "/console/",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    target: "es2022",
  },
});
