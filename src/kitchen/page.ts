import { html, type SafeHtml } from '../ops/html.js';

export interface KitchenPageView {
  user: string;
  recall: number;
}

/**
 * The kitchen screen's shell: cards, the Recall list and the buttons are built by kitchen.js from
 * the live event stream (no inline script or style: the CSP allows only these local files).
 */
export function renderKitchenPage(view: KitchenPageView): SafeHtml {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="kitchen-recall" content="${view.recall}">
<title>Kitchen · tabshop-gateway</title>
<link rel="stylesheet" href="kitchen/kitchen.css">
<script src="kitchen/kitchen.js" defer></script>
</head>
<body>
<header class="bar">
  <h1>Kitchen</h1>
  <span id="count" class="count" aria-live="polite">0 open</span>
  <span id="connection" class="connection" data-state="connecting">connecting…</span>
  <span class="spacer"></span>
  <button type="button" id="sound" class="tool" aria-pressed="false">Sound off</button>
  <button type="button" id="theme" class="tool" aria-pressed="false">Dark</button>
  <span class="user">${view.user}</span>
</header>
<p id="notice" class="notice" hidden></p>
<main>
  <section id="orders" class="orders" aria-label="Open orders"></section>
  <p id="empty" class="empty">No open orders.</p>
</main>
<aside class="recall" aria-label="Recall">
  <h2>Recall <span class="hint">last done orders</span></h2>
  <ol id="recall"></ol>
</aside>
</body>
</html>`;
}
