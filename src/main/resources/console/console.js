// The support console: a page of the gateway that calls its admin API with the admin token, which it keeps in this
// tab's sessionStorage only. No framework and no build step: this file is served from the jar as written.
'use strict';

const TOKEN_KEY = 'taraz.adminToken';

const KIND_LABELS = {
  entry: 'ثبت در دفتر',
  topup: 'افزایش موجودی',
  bank_call: 'پرسش از بانک',
  trip: 'سفر',
  hold: 'مسدودی سفر',
  trip_rejected: 'درخواست ردشدهٔ سفر',
  payout: 'برداشت راننده',
  refund: 'بازپرداخت',
  adjustment: 'اصلاح موجودی',
  finding: 'یافتهٔ تطبیق',
};

const STATE_LABELS = {
  CREATED: 'ایجاد شد',
  REQUESTED: 'در انتظار پرداخت در بانک',
  CALLBACK_RECEIVED: 'بازگشت از بانک',
  VERIFYING: 'در حال تأیید با بانک',
  VERIFIED: 'تأیید بانک',
  CREDITED: 'به کیف پول واریز شد',
  FAILED: 'ناموفق',
  EXPIRED: 'منقضی شد',
  REVERSED: 'به کارت برگشت',
  PAID: 'پرداخت‌شده',
  IN_BANK: 'پرداخت نشده (در بانک)',
  UNKNOWN: 'بی‌پاسخ یا نامعلوم',
  NEW: 'جدید',
  HELD: 'مسدود شد',
  POSTED: 'ثبت نهایی شد',
  VOIDED: 'آزاد شد',
  SETTLED: 'تسویه شد',
  REJECTED: 'رد شد',
  SENT: 'فرستاده شد',
  REFUNDED: 'بازپرداخت شد',
  APPLIED: 'اعمال شد',
};

const DRIVER_LABELS = {
  request: 'درخواست',
  callback: 'بازگشت کاربر از بانک',
  sweeper: 'پیگیری خودکار',
  recovery: 'بازیابی پس از راه‌اندازی',
  reconcile: 'تطبیق',
  console: 'کنسول پشتیبانی',
};

const WALLET_KINDS = { passenger: 'مسافر', driver: 'راننده' };

const digits = new Intl.NumberFormat('fa-IR', { maximumFractionDigits: 1 });
// Support and customers speak Tehran time; the Gregorian UTC time is in each date's title (on hover).
const solarDate = new Intl.DateTimeFormat('fa-IR-u-ca-persian', {
  weekday: 'long', year: 'numeric', month: 'long', day: 'numeric',
  hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23', timeZone: 'Asia/Tehran',
});

const $ = (id) => document.getElementById(id);

/** The page's state: the admin token, the wallet whose story is shown, and the next page of it. */
const state = { walletId: null, nextCursor: null, topupStates: new Map() };

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

/** A fresh Idempotency-Key per action; crypto.getRandomValues works on plain http too (randomUUID does not). */
function newKey() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return 'console-' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Every data call: the admin token as Bearer; a refusal becomes an ApiError with the API's own code. */
async function api(method, path, body, key) {
  const headers = { Authorization: 'Bearer ' + token() };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
  }
  if (key) {
    headers['Idempotency-Key'] = key;
  }
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const json = await response.json().catch(() => null);
  if (!response.ok) {
    const error = json && json.error ? json.error : { code: 'http_' + response.status, message: response.statusText };
    throw new ApiError(response.status, error.code, error.message);
  }
  return json;
}

function toman(rials) {
  return digits.format(rials / 10) + ' تومان';
}

function money(rials) {
  return toman(rials) + ' (' + digits.format(rials) + ' ریال)';
}

function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  Object.entries(attributes || {}).forEach(([name, value]) => {
    if (value !== null && value !== undefined) {
      node.setAttribute(name, value);
    }
  });
  children.filter((c) => c !== null && c !== undefined).forEach((c) => node.append(c));
  return node;
}

function showError(error) {
  const text = error instanceof ApiError && error.status === 401
    ? 'توکن مدیریت پذیرفته نشد (401). توکن درست را وارد کنید.'
    : error instanceof ApiError ? 'خطا: ' + error.code + ' (' + error.status + '): ' + error.message
      : 'خطا: ' + error.message;
  $('error').textContent = text;
  $('error').hidden = false;
  if (error instanceof ApiError && error.status === 401) {
    logout();
  }
}

function clearMessages() {
  $('error').hidden = true;
  $('error').textContent = '';
  $('result').hidden = true;
  $('result').textContent = '';
}

function clearData() {
  $('customers').replaceChildren();
  $('timeline').replaceChildren();
  $('story').hidden = true;
  $('more').hidden = true;
  state.walletId = null;
  state.nextCursor = null;
  state.topupStates = new Map();
}

function showSignedIn(signedIn) {
  $('login').hidden = signedIn;
  $('search').hidden = !signedIn;
  $('logout').hidden = !signedIn;
}

function logout() {
  sessionStorage.removeItem(TOKEN_KEY);
  clearData();
  showSignedIn(false);
}

// ---- search and wallets ----------------------------------------------------------------------

async function search(event) {
  event.preventDefault();
  clearMessages();
  clearData();
  const by = $('search-by').value;
  const query = toLatinDigits($('query').value.trim());
  try {
    const found = await api('GET', '/v1/admin/customers?' + new URLSearchParams({ [by]: query }));
    renderCustomers(found.customers);
    const wallets = found.customers.flatMap((c) => c.wallets);
    if (wallets.length === 1) {
      await openStory(wallets[0].walletId);
    }
  } catch (error) {
    showError(error);
  }
}

function renderCustomers(customers) {
  const section = $('customers');
  if (customers.length === 0) {
    section.append(el('p', { class: 'empty' }, 'مشتری‌ای با این مشخصات پیدا نشد.'));
    return;
  }
  customers.forEach((customer) => {
    const wallets = el('ul', { class: 'wallets' });
    customer.wallets.forEach((w) => {
      const storyButton = el('button', { type: 'button', class: 'open-story', 'data-wallet-id': w.walletId }, 'داستان پرداخت‌ها');
      storyButton.addEventListener('click', () => {
        clearMessages();
        openStory(w.walletId).catch(showError);
      });
      const adjustButton = el('button', { type: 'button', class: 'adjust', 'data-wallet-id': w.walletId }, 'اصلاح موجودی');
      adjustButton.addEventListener('click', () => confirmAdjust(w.walletId));
      wallets.append(el('li', { class: 'wallet', 'data-wallet-id': w.walletId },
        el('strong', null, 'کیف پول ' + (WALLET_KINDS[w.kind] || w.kind) + ' '),
        el('code', { dir: 'ltr' }, w.walletId),
        el('span', { class: 'balance' }, ' موجودی: ' + money(w.balance)),
        el('span', { class: 'available' }, ' قابل استفاده: ' + money(w.available)),
        el('span', { class: 'held' }, ' مسدود: ' + money(w.held)),
        storyButton, adjustButton));
    });
    section.append(el('article', { class: 'customer', 'data-owner-id': customer.ownerId },
      el('h2', null, customer.name || 'بی‌نام'),
      el('p', null, 'تلفن: ', el('bdi', { dir: 'ltr' }, customer.phone || '—'), ' · شناسهٔ مالک: ',
        el('bdi', { dir: 'ltr' }, customer.ownerId)),
      wallets));
  });
}

// ---- the story -------------------------------------------------------------------------------

async function openStory(walletId) {
  $('timeline').replaceChildren();
  state.walletId = walletId;
  state.nextCursor = null;
  state.topupStates = new Map();
  $('story-title').textContent = 'داستان پرداخت‌های کیف پول ' + walletId;
  $('story').hidden = false;
  await loadPage();
}

async function loadPage() {
  const query = state.nextCursor ? '?' + new URLSearchParams({ cursor: state.nextCursor }) : '';
  const page = await api('GET', '/v1/admin/wallets/' + encodeURIComponent(state.walletId) + '/story' + query);
  page.items.forEach((item) => $('timeline').append(renderItem(item)));
  state.nextCursor = page.nextCursor;
  $('more').hidden = !page.nextCursor;
}

function formatTime(iso) {
  const at = new Date(iso);
  return el('time', { datetime: iso, title: at.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC').replace(/Z$/, ' UTC') },
    solarDate.format(at) + ' به وقت تهران');
}

/** A ledger entry's state is its direction: money into the wallet or out of it. */
function stateLabel(item) {
  if (item.kind === 'entry' && typeof item.amount === 'number') {
    return item.amount >= 0 ? 'واریز به کیف پول' : 'برداشت از کیف پول';
  }
  return STATE_LABELS[item.state] || item.state || '';
}

function renderItem(item) {
  const li = el('li', {
    class: 'item kind-' + item.kind, 'data-kind': item.kind, 'data-state': item.state, 'data-payment-id': item.paymentId,
  });
  const head = el('div', { class: 'head' },
    el('span', { class: 'kind' }, KIND_LABELS[item.kind] || item.kind),
    el('span', { class: 'state' }, stateLabel(item)),
    item.amount === null || item.amount === undefined ? null : el('span', { class: 'amount' }, money(item.amount)),
    formatTime(item.at));
  li.append(head);
  if (item.drivenBy) {
    li.append(el('div', { class: 'driven-by' }, 'به دست: ' + (DRIVER_LABELS[item.drivenBy] || item.drivenBy)));
  }
  if (item.text) {
    li.append(el('p', { class: 'text', dir: 'ltr', lang: 'en' }, item.text));
  }
  const copy = el('button', { type: 'button', class: 'copy' }, 'کپی');
  const id = el('code', { class: 'payment-id', dir: 'ltr' }, item.paymentId);
  copy.addEventListener('click', () => copyText(id, copy));
  li.append(el('div', { class: 'payment' }, 'شناسهٔ پرداخت (برای جستجو در ژورنال): ', id, ' ', copy));
  if (item.detail && Object.keys(item.detail).length > 0) {
    li.append(el('details', null, el('summary', null, 'جزئیات'),
      el('pre', { dir: 'ltr' }, JSON.stringify(item.detail, null, 2))));
  }
  // Newest first: the first top-up item of a payment is its state now; ask the bank about one not yet credited.
  if (item.kind === 'topup' && !state.topupStates.has(item.paymentId)) {
    state.topupStates.set(item.paymentId, item.state);
    if (item.state !== 'CREDITED') {
      const ask = el('button', { type: 'button', class: 'ask', 'data-topup-id': item.paymentId }, 'استعلام از بانک');
      ask.addEventListener('click', () => confirmAsk(item.paymentId));
      li.append(ask);
    }
  }
  return li;
}

async function copyText(idElement, button) {
  try {
    await navigator.clipboard.writeText(idElement.textContent);
  } catch (e) {
    // No clipboard API outside a secure context (plain http to an internal host): the id is selected for Ctrl+C.
    const range = document.createRange();
    range.selectNodeContents(idElement);
    getSelection().removeAllRanges();
    getSelection().addRange(range);
  }
  button.textContent = 'کپی شد';
  setTimeout(() => { button.textContent = 'کپی'; }, 1500);
}

// ---- the two actions, each confirmed with a ticket ------------------------------------------------

let pendingAction = null;

function openDialog(title, text, adjust, action) {
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  $('adjust-fields').hidden = !adjust;
  $('adjust-amount').value = '';
  $('adjust-reason').value = '';
  $('adjust-toman').textContent = '';
  $('ticket').value = '';
  $('confirm-error').hidden = true;
  pendingAction = action;
  $('confirm').showModal();
}

function confirmAsk(topupId) {
  openDialog('استعلام از بانک', 'وضعیت پرداخت ' + topupId + ' از بانک پرسیده می‌شود و اگر بانک پرداخت را تأیید کند، '
    + 'مبلغ با همان روند عادی به کیف پول واریز می‌شود.', false, async (ticket) => {
    const topup = await api('POST', '/v1/admin/topups/' + encodeURIComponent(topupId) + '/ask', { ticket }, newKey());
    return 'پاسخ استعلام: افزایش موجودی ' + topup.topupId + ' اکنون «' + (STATE_LABELS[topup.state] || topup.state)
      + '» است (' + money(topup.amount) + ').';
  });
}

function confirmAdjust(walletId) {
  openDialog('اصلاح موجودی', 'مبلغ از حساب اصلاحات به کیف پول ' + walletId + ' واریز (یا از آن کسر) می‌شود.', true,
    async (ticket) => {
      const amount = Number(toLatinDigits($('adjust-amount').value.trim()));
      const reason = $('adjust-reason').value.trim();
      if (!Number.isSafeInteger(amount) || amount === 0) {
        throw new Error('مبلغ باید عددی صحیح و غیر صفر به ریال باشد.');
      }
      if (!reason) {
        throw new Error('دلیل را بنویسید.');
      }
      const adjustment = await api('POST', '/v1/admin/adjustments', { walletId, amount, reason, ticket }, newKey());
      return 'اصلاح موجودی ' + adjustment.adjustmentId + ' ثبت شد: ' + money(amount) + '، تیکت ' + ticket
        + '. موجودی اکنون ' + money(adjustment.balance) + ' است.';
    });
}

async function confirmDialog(event) {
  event.preventDefault();
  const ticket = $('ticket').value.trim();
  if (!ticket) {
    $('confirm-error').textContent = 'شمارهٔ تیکت لازم است.';
    $('confirm-error').hidden = false;
    return;
  }
  $('confirm-ok').disabled = true;
  try {
    const message = await pendingAction(ticket);
    $('confirm').close();
    clearMessages();
    $('result').textContent = message;
    $('result').hidden = false;
    if (state.walletId) {
      await refreshCustomerAndStory();
    }
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      $('confirm').close();
      showError(error);
    } else {
      $('confirm-error').textContent = error instanceof ApiError ? error.code + ': ' + error.message : error.message;
      $('confirm-error').hidden = false;
    }
  } finally {
    $('confirm-ok').disabled = false;
  }
}

/** After an action: the wallets' balances and the story again, from the newest item. */
async function refreshCustomerAndStory() {
  const walletId = state.walletId;
  const owner = document.querySelector('.wallet[data-wallet-id="' + CSS.escape(walletId) + '"]');
  const ownerId = owner ? owner.closest('.customer').dataset.ownerId : null;
  if (ownerId) {
    const found = await api('GET', '/v1/admin/customers?' + new URLSearchParams({ ownerId }));
    $('customers').replaceChildren();
    renderCustomers(found.customers);
  }
  await openStory(walletId);
}

function toLatinDigits(text) {
  return text.replace(/[۰-۹]/g, (d) => String(d.charCodeAt(0) - 0x06F0))
    .replace(/[٠-٩]/g, (d) => String(d.charCodeAt(0) - 0x0660));
}

// ---- wiring --------------------------------------------------------------------------------

document.addEventListener('DOMContentLoaded', () => {
  $('login').addEventListener('submit', (event) => {
    event.preventDefault();
    clearMessages();
    sessionStorage.setItem(TOKEN_KEY, $('token').value.trim());
    $('token').value = '';
    showSignedIn(true);
    $('query').focus();
  });
  $('logout').addEventListener('click', () => {
    clearMessages();
    logout();
  });
  $('search').addEventListener('submit', search);
  $('more').addEventListener('click', () => {
    clearMessages();
    loadPage().catch(showError);
  });
  $('confirm-form').addEventListener('submit', confirmDialog);
  $('confirm-cancel').addEventListener('click', () => $('confirm').close());
  $('ticket').addEventListener('input', () => { $('confirm-error').hidden = true; });
  $('adjust-amount').addEventListener('input', () => {
    const amount = Number(toLatinDigits($('adjust-amount').value.trim()));
    $('adjust-toman').textContent = Number.isSafeInteger(amount) && amount !== 0 ? '= ' + toman(amount) : '';
  });
  showSignedIn(Boolean(token()));
});
