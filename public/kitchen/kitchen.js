// The kitchen screen: open orders as cards (newest first), a Recall list of the last done ones,
// kept live by the gateway's event stream (kitchen/events). EventSource reconnects by itself and
// sends Last-Event-ID, so the gateway replays exactly what was missed; cards are keyed by order
// id, so a replayed change updates a card instead of adding one.
(() => {
  'use strict';
  const recallSize = Number(document.querySelector('meta[name="kitchen-recall"]')?.content ?? 20);
  const ordersEl = document.getElementById('orders');
  const recallEl = document.getElementById('recall');
  const emptyEl = document.getElementById('empty');
  const countEl = document.getElementById('count');
  const connectionEl = document.getElementById('connection');
  const noticeEl = document.getElementById('notice');
  const soundBtn = document.getElementById('sound');
  const themeBtn = document.getElementById('theme');

  /** id → order view, every order the screen knows (open and done). */
  const orders = new Map();
  let csrfToken = '';
  let audio = null;

  const store = {
    get: (k) => {
      try {
        return localStorage.getItem(k);
      } catch {
        return null;
      }
    },
    set: (k, v) => {
      try {
        localStorage.setItem(k, v);
      } catch {
        /* private mode */
      }
    },
  };

  // Theme: remembered per screen; the first time, what the device prefers.
  const setTheme = (dark) => {
    document.documentElement.classList.toggle('dark', dark);
    themeBtn.setAttribute('aria-pressed', String(dark));
    themeBtn.textContent = dark ? 'Light' : 'Dark';
  };
  const savedTheme = store.get('kitchen.theme');
  setTheme(savedTheme ? savedTheme === 'dark' : window.matchMedia?.('(prefers-color-scheme: dark)').matches === true);
  themeBtn.addEventListener('click', () => {
    const dark = !document.documentElement.classList.contains('dark');
    setTheme(dark);
    store.set('kitchen.theme', dark ? 'dark' : 'light');
  });

  // Sound: browsers allow audio only after a tap, so it starts off until the button is pressed.
  const setSound = (on) => {
    soundBtn.setAttribute('aria-pressed', String(on));
    soundBtn.textContent = on ? 'Sound on' : 'Sound off';
  };
  const soundOn = () => soundBtn.getAttribute('aria-pressed') === 'true';
  setSound(false);
  soundBtn.addEventListener('click', () => {
    const on = !soundOn();
    if (on && !audio && window.AudioContext) audio = new AudioContext();
    audio?.resume?.();
    setSound(on);
    if (on) chime();
  });
  function chime() {
    if (!audio || !soundOn()) return;
    const t = audio.currentTime;
    for (const [i, freq] of [880, 1175].entries()) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = 'sine';
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, t + i * 0.18);
      gain.gain.exponentialRampToValueAtTime(0.4, t + i * 0.18 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + i * 0.18 + 0.35);
      osc.connect(gain).connect(audio.destination);
      osc.start(t + i * 0.18);
      osc.stop(t + i * 0.18 + 0.4);
    }
  }

  const pad = (n) => String(n).padStart(2, '0');
  const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  function clock(iso) {
    const d = new Date(iso);
    const now = new Date();
    const time = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
    return d.toDateString() === now.toDateString() ? time : `${pad(d.getDate())}-${MONTHS[d.getMonth()]} ${time}`;
  }
  function age(iso) {
    const min = Math.floor((Date.now() - new Date(iso).getTime()) / 60000);
    if (min < 1) return 'just now';
    if (min < 60) return `${min} min ago`;
    return `${Math.floor(min / 60)} h ${min % 60} min ago`;
  }

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === 'class') node.className = v;
      else if (k.startsWith('data-')) node.setAttribute(k, v);
      else node[k] = v;
    }
    for (const c of children) node.append(c);
    return node;
  }

  function card(order, fresh) {
    const done = el('button', { type: 'button', class: 'done', textContent: 'Done' });
    done.addEventListener('click', () => act(order.id, 'done', done));
    const positions = el(
      'ul',
      { class: 'positions' },
      ...order.positions.map((p) =>
        el('li', {}, el('span', { class: 'amount', textContent: p.amount }), el('span', { class: 'product', textContent: p.product })),
      ),
    );
    const node = el(
      'article',
      { class: fresh ? 'card fresh' : 'card', 'data-id': order.id },
      el(
        'header',
        {},
        el('h2', { class: 'table', textContent: order.table ?? '' }),
        el('time', { class: 'time', dateTime: order.receivedAt, textContent: clock(order.receivedAt), title: new Date(order.receivedAt).toLocaleString() }),
      ),
      el('span', { class: 'age', 'data-at': order.receivedAt, textContent: age(order.receivedAt) }),
      positions,
      done,
    );
    if (fresh) setTimeout(() => node.classList.remove('fresh'), 15000);
    return node;
  }

  function recallItem(order) {
    const back = el('button', { type: 'button', textContent: 'Recall' });
    back.addEventListener('click', () => act(order.id, 'reopen', back));
    return el(
      'li',
      { 'data-id': order.id },
      el('span', { class: 'what', textContent: `${order.table ?? ''} · ${clock(order.receivedAt)}` }),
      el('span', { class: 'items', textContent: order.positions.map((p) => `${p.amount} ${p.product}`).join(', ') }),
      back,
    );
  }

  const byNewest = (a, b) => Number(b.id) - Number(a.id);

  function render(freshId) {
    const open = [...orders.values()].filter((o) => o.state === 'open').sort(byNewest);
    const existing = new Map([...ordersEl.children].map((n) => [n.dataset.id, n]));
    // An order's table and positions never change: a card, once built, is kept as it is.
    ordersEl.replaceChildren(...open.map((o) => existing.get(o.id) ?? card(o, o.id === freshId)));
    emptyEl.hidden = open.length > 0;
    countEl.textContent = `${open.length} open`;
    document.title = `(${open.length}) Kitchen · tabshop-gateway`;
    const done = [...orders.values()].filter((o) => o.state === 'done').sort((a, b) => (b.doneAt ?? '').localeCompare(a.doneAt ?? '') || byNewest(a, b));
    for (const old of done.slice(recallSize)) orders.delete(old.id);
    recallEl.replaceChildren(...done.slice(0, recallSize).map(recallItem));
  }

  function apply(order, live) {
    const known = orders.get(order.id);
    orders.set(order.id, order);
    const fresh = live && order.state === 'open' && known?.state !== 'open';
    render(fresh ? order.id : null);
    if (fresh && !known) chime();
  }

  function notice(text) {
    noticeEl.textContent = text;
    noticeEl.hidden = !text;
  }

  async function act(id, action, button) {
    button.disabled = true;
    try {
      const res = await fetch(`kitchen/orders/${encodeURIComponent(id)}/${action}`, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'X-CSRF-Token': csrfToken, Accept: 'application/json' },
      });
      const body = await res.json().catch(() => null);
      if (!res.ok) throw new Error(body?.error?.message ?? `HTTP ${res.status}`);
      notice('');
      apply(body, false);
    } catch (err) {
      notice(`Could not ${action === 'done' ? 'mark the order done' : 'recall the order'}: ${err.message}`);
      button.disabled = false;
    }
  }

  function connect() {
    const source = new EventSource('kitchen/events');
    source.addEventListener('open', () => {
      connectionEl.dataset.state = 'live';
      connectionEl.textContent = 'live';
    });
    source.addEventListener('error', () => {
      connectionEl.dataset.state = 'reconnecting';
      connectionEl.textContent = 'reconnecting…';
    });
    source.addEventListener('hello', (e) => {
      csrfToken = JSON.parse(e.data).csrfToken;
    });
    source.addEventListener('reset', () => {
      orders.clear();
      render(null);
    });
    source.addEventListener('order', (e) => {
      const { live, ...order } = JSON.parse(e.data);
      apply(order, live);
    });
  }

  setInterval(() => {
    for (const node of document.querySelectorAll('.age[data-at]')) node.textContent = age(node.dataset.at);
  }, 30000);
  render(null);
  connect();
})();
