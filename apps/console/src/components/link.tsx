import type { ComponentChildren } from "preact";
import { navigate } from "../router.js";

/** An anchor that navigates inside the console without a reload (a modified click opens a tab as usual). */
export function Link({ to, children, class: className }: { to: string; children: ComponentChildren; class?: string }) {
  return (
    <a
      href={to}
      class={className}
      onClick={(e) => {
        if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(to);
      }}
    >
      {children}
    </a>
  );
}
