"""What the local fake Stripe serves to browsers: Stripe.js v3 (the subset the plugin
uses) and the 3-D Secure test page.

The script speaks Stripe's browser protocol (https://stripe.com/docs/js): ``Stripe(pk)``,
``elements({clientSecret})``, ``elements.create('card' | 'payment').mount(selector)``,
``confirmCardPayment(clientSecret, {payment_method: {card: element}})``,
``confirmPayment({elements, confirmParams: {return_url}})``, ``retrievePaymentIntent``.
A confirmation is a form-encoded POST to ``/v1/payment_intents/{id}/confirm`` carrying
``key=pk_…``, ``client_secret=…``, ``use_stripe_sdk=true`` and the card as
``payment_method_data[card][…]``, as Stripe.js sends it. The card element is plain
inputs in the merchant's page (Stripe's are in iframes) named as in Stripe's own
frames: ``cardnumber``, ``exp-date``, ``cvc``; the mount point gets class ``StripeElement``.
3-D Secure opens the test page in a modal iframe (like Stripe's), which reports back
with ``postMessage``; the script then reads the intent again and resolves.
"""
from __future__ import annotations

import html
import json

STRIPE_JS = r"""/* Stripe.js v3 subset served by Comptoir's local fake Stripe (tests only). */
(function () {
  "use strict";
  var API = __API__;
  function IntegrationError(message) { var e = new Error(message); e.name = "IntegrationError"; return e; }
  function encode(data, prefix, out) {
    out = out || [];
    Object.keys(data).forEach(function (k) {
      var v = data[k], name = prefix ? prefix + "[" + k + "]" : k;
      if (v === undefined || v === null) return;
      if (typeof v === "object") encode(v, name, out);
      else out.push(encodeURIComponent(name) + "=" + encodeURIComponent(String(v)));
    });
    return out;
  }
  function call(method, path, params, key) {
    var body = encode(Object.assign({}, params, {key: key})).join("&"), url = API + path, init = {method: method};
    if (method === "GET") url += "?" + body;
    else { init.body = body; init.headers = {"Content-Type": "application/x-www-form-urlencoded"}; }
    return fetch(url, init).then(function (r) {
      return r.json().then(function (j) { return {status: r.status, body: j}; });
    }, function () {
      return {status: 0, body: {error: {type: "api_connection_error",
        message: "We could not reach Stripe. Check your connection and try again."}}};
    });
  }
  function intentId(clientSecret) {
    var id = String(clientSecret || "").split("_secret_")[0];
    if (id.indexOf("pi_") !== 0 || id === clientSecret) {
      throw IntegrationError("Invalid value for clientSecret: it should be the client_secret of a PaymentIntent (pi_…_secret_…).");
    }
    return id;
  }
  function luhn(n) {
    var sum = 0, alt = false;
    for (var i = n.length - 1; i >= 0; i--) {
      var d = +n.charAt(i);
      if (alt) { d *= 2; if (d > 9) d -= 9; }
      sum += d; alt = !alt;
    }
    return sum % 10 === 0;
  }
  function invalid(code, message) { return {type: "validation_error", code: code, message: message}; }

  function CardElement(elements, type) { this._elements = elements; this._type = type; this._handlers = {}; this._root = null; }
  CardElement.prototype.mount = function (target) {
    var root = typeof target === "string" ? document.querySelector(target) : target;
    if (!root) throw IntegrationError("The selector you specified (" + target + ") applies to no DOM elements that are currently on the page.");
    var self = this;
    root.classList.add("StripeElement");
    root.textContent = "";
    function input(name, label, autocomplete, size) {
      var i = document.createElement("input");
      i.name = name; i.placeholder = label; i.autocomplete = autocomplete; i.inputMode = "numeric"; i.size = size;
      i.setAttribute("aria-label", label);
      i.addEventListener("input", function () { self._emit("change", self._state()); });
      root.appendChild(i);
      return i;
    }
    this._number = input("cardnumber", "Card number", "cc-number", 22);
    this._exp = input("exp-date", "MM / YY", "cc-exp", 7);
    this._cvc = input("cvc", "CVC", "cc-csc", 4);
    this._root = root;
    setTimeout(function () { self._emit("ready", {elementType: self._type}); }, 0);
  };
  CardElement.prototype.on = function (name, fn) { (this._handlers[name] = this._handlers[name] || []).push(fn); return this; };
  CardElement.prototype.off = function (name) { delete this._handlers[name]; return this; };
  CardElement.prototype._emit = function (name, ev) { (this._handlers[name] || []).forEach(function (fn) { fn(ev); }); };
  CardElement.prototype.focus = function () { if (this._number) this._number.focus(); };
  CardElement.prototype.clear = function () { [this._number, this._exp, this._cvc].forEach(function (i) { if (i) i.value = ""; }); };
  CardElement.prototype.unmount = function () { if (this._root) { this._root.textContent = ""; this._root.classList.remove("StripeElement"); this._root = null; } };
  CardElement.prototype.destroy = CardElement.prototype.unmount;
  CardElement.prototype._state = function () {
    var v = this._read();
    return {elementType: this._type, empty: !v.number && !v.expiry && !v.cvc, complete: !v.error, error: v.error || undefined,
            brand: /^4/.test(v.number) ? "visa" : /^5[1-5]/.test(v.number) ? "mastercard" : /^3[47]/.test(v.number) ? "amex" : "unknown"};
  };
  CardElement.prototype._read = function () {
    if (!this._root) return {error: invalid("incomplete", "The card element is not mounted.")};
    var number = this._number.value.replace(/\D/g, ""), expiry = this._exp.value.replace(/\s/g, ""), cvc = this._cvc.value.trim();
    var out = {number: number, expiry: expiry, cvc: cvc};
    var m = /^(\d{1,2})\/?(\d{2}|\d{4})$/.exec(expiry), now = new Date();
    if (number.length < 13) out.error = invalid("incomplete_number", "Your card number is incomplete.");
    else if (!luhn(number)) out.error = invalid("invalid_number", "Your card number is invalid.");
    else if (!m) out.error = invalid("incomplete_expiry", "Your card's expiration date is incomplete.");
    else {
      out.month = +m[1]; out.year = m[2].length === 2 ? 2000 + +m[2] : +m[2];
      if (out.month < 1 || out.month > 12) out.error = invalid("invalid_expiry_month", "Your card's expiration date is invalid.");
      else if (out.year < now.getFullYear() || (out.year === now.getFullYear() && out.month < now.getMonth() + 1))
        out.error = invalid("invalid_expiry_year_past", "Your card's expiration year is in the past.");
      else if (!/^\d{3,4}$/.test(cvc)) out.error = invalid("incomplete_cvc", "Your card's security code is incomplete.");
    }
    return out;
  };
  CardElement.prototype._paymentMethodData = function (billing) {
    var v = this._read();
    if (v.error) return {error: v.error};
    return {data: {type: "card", card: {number: v.number, exp_month: v.month, exp_year: v.year, cvc: v.cvc},
                   billing_details: billing || undefined}};
  };

  function Elements(stripe, options) { this._stripe = stripe; this._clientSecret = (options || {}).clientSecret || null; this._els = {}; }
  Elements.prototype.create = function (type) {
    if (type !== "card" && type !== "payment") throw IntegrationError("Invalid Element type: " + type + ". This Stripe.js offers card and payment.");
    if (this._els[type]) throw IntegrationError("Can only create one Element of type " + type + ".");
    return (this._els[type] = new CardElement(this, type));
  };
  Elements.prototype.getElement = function (type) { return this._els[type] || null; };
  Elements.prototype._element = function () { return this._els.payment || this._els.card || null; };
  Elements.prototype.submit = function () {
    var el = this._element();
    if (!el) return Promise.reject(IntegrationError("elements.submit(): create and mount an Element first."));
    var v = el._read();
    return Promise.resolve(v.error ? {error: v.error} : {});
  };

  function Stripe(key) {
    if (!(this instanceof Stripe)) return new Stripe(key);
    if (typeof key !== "string" || !/^pk_(test|live)_/.test(key)) {
      throw IntegrationError("Invalid API Key provided: Stripe() takes a publishable key (pk_test_… or pk_live_…).");
    }
    this._key = key;
  }
  Stripe.prototype.elements = function (options) { return new Elements(this, options); };
  Stripe.prototype.retrievePaymentIntent = function (clientSecret) {
    return call("GET", "/v1/payment_intents/" + intentId(clientSecret), {client_secret: clientSecret}, this._key)
      .then(function (r) { return r.body.error ? {error: r.body.error} : {paymentIntent: r.body}; });
  };
  Stripe.prototype._confirm = function (clientSecret, params, handleActions) {
    var self = this, id = intentId(clientSecret);
    params.client_secret = clientSecret;
    params.use_stripe_sdk = "true";
    return call("POST", "/v1/payment_intents/" + id + "/confirm", params, this._key).then(function (r) {
      if (r.body.error) return {error: r.body.error};
      if (r.body.status === "requires_action" && handleActions !== false) return self._handleAction(clientSecret, r.body);
      return {paymentIntent: r.body};
    });
  };
  Stripe.prototype._handleAction = function (clientSecret, pi) {
    var self = this, action = pi.next_action || {};
    var url = (action.use_stripe_sdk || {}).stripe_js || (action.redirect_to_url || {}).url;
    if (!url) return Promise.resolve({paymentIntent: pi});
    return new Promise(function (resolve) {
      var overlay = document.createElement("div"), frame = document.createElement("iframe");
      overlay.className = "StripeChallenge";
      overlay.style.cssText = "position:fixed;inset:0;background:rgba(0,0,0,.45);display:flex;align-items:center;justify-content:center;z-index:2147483647";
      frame.name = "stripe-challenge-frame"; frame.title = "3D Secure authentication"; frame.src = url;
      frame.style.cssText = "width:420px;height:420px;border:0;background:#fff;border-radius:8px";
      overlay.appendChild(frame);
      document.body.appendChild(overlay);
      function done(ev) {
        if (ev.origin !== API || !ev.data || ev.data.type !== "stripe-3ds-complete") return;
        window.removeEventListener("message", done);
        overlay.remove();
        self.retrievePaymentIntent(clientSecret).then(function (r) {
          var p = r.paymentIntent;
          if (r.error) resolve(r);
          else if (p.status === "requires_payment_method" && p.last_payment_error)
            resolve({error: Object.assign({payment_intent: p}, p.last_payment_error)});
          else resolve({paymentIntent: p});
        });
      }
      window.addEventListener("message", done);
    });
  };
  Stripe.prototype.handleNextAction = function (options) {
    var self = this, cs = (options || {}).clientSecret;
    return this.retrievePaymentIntent(cs).then(function (r) { return r.error ? r : self._handleAction(cs, r.paymentIntent); });
  };
  Stripe.prototype.handleCardAction = function (clientSecret) { return this.handleNextAction({clientSecret: clientSecret}); };
  Stripe.prototype.confirmCardPayment = function (clientSecret, data, options) {
    data = data || {};
    var pm = data.payment_method, params = {expected_payment_method_type: "card"};
    if (typeof pm === "string") params.payment_method = pm;
    else if (pm && pm.card instanceof CardElement) {
      var built = pm.card._paymentMethodData(pm.billing_details);
      if (built.error) return Promise.resolve({error: built.error});
      params.payment_method_data = built.data;
    } else if (pm !== undefined) {
      return Promise.reject(IntegrationError("confirmCardPayment: payment_method must be a PaymentMethod id or {card: cardElement}."));
    }
    if (data.return_url) params.return_url = data.return_url;
    return this._confirm(clientSecret, params, (options || {}).handleActions);
  };
  Stripe.prototype.confirmPayment = function (options) {
    options = options || {};
    var els = options.elements, confirmParams = options.confirmParams || {};
    var cs = options.clientSecret || (els && els._clientSecret);
    if (!els || !els._element()) return Promise.reject(IntegrationError("stripe.confirmPayment(): pass the elements you mounted a payment Element from."));
    if (!cs) return Promise.reject(IntegrationError("stripe.confirmPayment(): create elements with {clientSecret} or pass clientSecret."));
    if (!confirmParams.return_url && options.redirect !== "if_required") {
      return Promise.reject(IntegrationError("stripe.confirmPayment(): the `confirmParams.return_url` argument is required unless passing `redirect: 'if_required'`"));
    }
    var built = els._element()._paymentMethodData((confirmParams.payment_method_data || {}).billing_details);
    if (built.error) return Promise.resolve({error: built.error});
    var params = {payment_method_data: built.data};
    if (confirmParams.return_url) params.return_url = confirmParams.return_url;
    return this._confirm(cs, params).then(function (res) {
      if (res.error || options.redirect === "if_required") return res;
      var pi = res.paymentIntent, u = new URL(confirmParams.return_url, window.location.href);
      u.searchParams.set("payment_intent", pi.id);
      u.searchParams.set("payment_intent_client_secret", cs);
      u.searchParams.set("redirect_status", pi.status === "processing" ? "processing" :
        (pi.status === "succeeded" || pi.status === "requires_capture") ? "succeeded" : "failed");
      window.location.assign(u.toString());
      return new Promise(function () {});  // the page is leaving
    });
  };
  window.Stripe = Stripe;
})();
"""


def stripe_js(api_origin: str) -> bytes:
    """The script, talking to the fake at ``api_origin`` (``http://127.0.0.1:<port>``)."""
    return STRIPE_JS.replace("__API__", json.dumps(api_origin)).encode()


def challenge_page(amount: int, currency: str) -> bytes:
    """Stripe's 3-D Secure 2 test page: the shopper completes or fails authentication."""
    whole, cents = divmod(amount, 100)
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>3D Secure 2 Test Page</title></head>
<body style="font-family:sans-serif;padding:16px"><h1 style="font-size:18px">3D Secure 2 Test Page</h1>
<p>Authenticate a payment of {whole}.{cents:02d} {html.escape(currency.upper())}. In test mode, choose the outcome.</p>
<form method="post"><input type="hidden" name="outcome" value="complete">
<button id="test-source-authorize-3ds" type="submit">Complete authentication</button></form>
<form method="post"><input type="hidden" name="outcome" value="fail">
<button id="test-source-fail-3ds" type="submit">Fail authentication</button></form></body></html>""".encode()


def challenge_done(return_url: str) -> bytes:
    """After the test page: tell Stripe.js in the parent page, or go back to ``return_url``."""
    target = json.dumps(return_url or "").replace("<", "\\u003c")  # stays inside the <script>
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Authentication done</title></head>
<body><p>Authentication done; you can close this window.</p><script>
if (window.parent !== window) window.parent.postMessage({{type: "stripe-3ds-complete"}}, "*");
else if ({target}) window.location.replace({target});
</script></body></html>""".encode()
