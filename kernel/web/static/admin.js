// Admin helpers: CSRF header for htmx and fetch, select-all, drag-and-drop image upload, phone menu.
(function () {
  const csrf = document.querySelector('meta[name="csrf"]')?.content || "";
  document.body.addEventListener("htmx:configRequest", (e) => { e.detail.headers["X-CSRF-Token"] = csrf; });

  const toggle = document.getElementById("menu-toggle");
  if (toggle) toggle.addEventListener("click", () => document.querySelector("nav.side").classList.toggle("open"));

  const all = document.getElementById("select-all");
  if (all) all.addEventListener("change", () => {
    document.querySelectorAll('input[name="product_id"]').forEach((b) => { b.checked = all.checked; });
    count();
  });
  function count() {
    const n = document.querySelectorAll('input[name="product_id"]:checked').length;
    const out = document.getElementById("selected-count");
    if (out) out.textContent = n ? n + " selected" : "none selected";
  }
  document.querySelectorAll('input[name="product_id"]').forEach((b) => b.addEventListener("change", count));

  const zone = document.getElementById("dropzone");
  if (zone) {
    const input = document.getElementById("image-input");
    const send = async (files) => {
      for (const file of files) {
        const body = new FormData();
        body.append("file", file);
        zone.textContent = "uploading " + file.name + "…";
        const r = await fetch(zone.dataset.url, { method: "POST", body, headers: { "X-CSRF-Token": csrf },
                                                  credentials: "same-origin" });
        if (!r.ok) { const p = await r.json().catch(() => ({})); zone.textContent = p.detail || "upload failed"; return; }
        const img = await r.json();
        const el = document.createElement("img"); el.src = img.url; el.alt = "";
        document.getElementById("thumbs").appendChild(el);
      }
      zone.textContent = "Drop images here, or click to choose";
    };
    zone.addEventListener("click", () => input.click());
    input.addEventListener("change", () => send(input.files));
    ["dragenter", "dragover"].forEach((t) => zone.addEventListener(t, (e) => { e.preventDefault(); zone.classList.add("over"); }));
    ["dragleave", "drop"].forEach((t) => zone.addEventListener(t, (e) => { e.preventDefault(); zone.classList.remove("over"); }));
    zone.addEventListener("drop", (e) => send(e.dataTransfer.files));
  }
})();
