// kairan's picture work, done by the browser's own APIs (docs/DESIGN.md
// section 4): shrinking a photo before it is sent, the drawing pad, the
// bytes of posts not sent yet, kept in IndexedDB (local storage is too
// small for them), and the viewer of a topic's full picture. app.wasm calls window.kairanPics and never decodes a
// picture itself: Go's image packages would cost app.wasm ~170 KB brotli
// (docs/BENCHMARKS.md) and decode in wasm instead of the browser's native
// decoders, and per-pointer-event calls into Go would cost a render each.
"use strict";
(() => {
  const maxSide = 2048; // shared.MaxImageSide: the server keeps no more

  // encode writes canvas as the first of types the browser can write (a
  // browser that cannot write WebP hands back PNG under another name).
  async function encode(canvas, types, quality) {
    for (const type of types) {
      const blob = await new Promise((resolve) => canvas.toBlob(resolve, type, quality));
      if (blob && blob.type === type) {
        return blob;
      }
    }
    throw new Error("this browser cannot save pictures");
  }

  function sized(w, h, limit) {
    const scale = Math.min(1, limit / Math.max(w, h));
    return [Math.max(1, Math.round(w * scale)), Math.max(1, Math.round(h * scale))];
  }

  function describe(blob, w, h) {
    return { blob: blob, type: blob.type, width: w, height: h, bytes: blob.size, url: URL.createObjectURL(blob) };
  }

  // shrink turns a chosen file (camera or gallery) into a picture of at
  // most maxSide on its longest side, turned upright (the photo's
  // orientation applied), on white where it was transparent, as WebP or
  // else JPEG.
  async function shrink(file) {
    let bitmap;
    try {
      bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
    } catch (err) {
      throw new Error("unreadable"); // not a picture this browser can open (HEIC in Chromium)
    }
    const [w, h] = sized(bitmap.width, bitmap.height, maxSide);
    const canvas = document.createElement("canvas");
    canvas.width = w;
    canvas.height = h;
    const g = canvas.getContext("2d");
    g.fillStyle = "#fff";
    g.fillRect(0, 0, w, h);
    g.imageSmoothingQuality = "high";
    g.drawImage(bitmap, 0, 0, w, h);
    bitmap.close();
    return describe(await encode(canvas, ["image/webp", "image/jpeg"], 0.85), w, h);
  }

  // The drawing pad. Strokes are kept in coordinates relative to the
  // pad's width (0..1 across), so the pad can change size (a phone turned)
  // and a drawing is exported at one resolution whatever the screen.
  const aspect = 3 / 4; // height / width
  const exportWidth = 1200;
  const pads = new WeakMap();

  class Pad {
    constructor(canvas) {
      this.canvas = canvas;
      this.strokes = [];
      this.color = "#1d2521";
      this.width = 0.006; // of the pad's width
      this.current = null;
      this.onchange = null;
      canvas.addEventListener("pointerdown", (e) => this.down(e));
      canvas.addEventListener("pointermove", (e) => this.move(e));
      for (const name of ["pointerup", "pointercancel", "lostpointercapture"]) {
        canvas.addEventListener(name, () => this.up());
      }
      new ResizeObserver(() => this.fit()).observe(canvas);
      this.fit();
    }
    fit() {
      const ratio = Math.min(window.devicePixelRatio || 1, 3);
      const w = Math.max(1, Math.round(this.canvas.clientWidth * ratio));
      if (w !== this.canvas.width) {
        this.canvas.width = w;
        this.canvas.height = Math.round(w * aspect);
        this.redraw();
      }
    }
    point(e) {
      const r = this.canvas.getBoundingClientRect();
      return [(e.clientX - r.left) / r.width, (e.clientY - r.top) / r.width];
    }
    down(e) {
      if (e.button !== 0 && e.pointerType === "mouse") {
        return;
      }
      e.preventDefault();
      this.canvas.setPointerCapture(e.pointerId);
      this.current = { color: this.color, width: this.width, points: [this.point(e)] };
      this.strokes.push(this.current);
      this.paint(this.canvas, this.current);
    }
    move(e) {
      if (!this.current) {
        return;
      }
      e.preventDefault();
      const coalesced = e.getCoalescedEvents ? e.getCoalescedEvents() : [];
      const before = this.current.points.length;
      for (const ev of coalesced.length ? coalesced : [e]) {
        this.current.points.push(this.point(ev));
      }
      this.paint(this.canvas, this.current, before - 1);
    }
    up() {
      if (this.current) {
        this.current = null;
        this.changed();
      }
    }
    changed() {
      if (this.onchange) {
        this.onchange(this.strokes.length);
      }
    }
    // paint draws stroke s on canvas c from point index from on.
    paint(c, s, from) {
      const g = c.getContext("2d");
      const k = c.width;
      g.strokeStyle = s.color;
      g.fillStyle = s.color;
      g.lineWidth = s.width * k;
      g.lineCap = "round";
      g.lineJoin = "round";
      const p = s.points;
      if (p.length === 1) {
        g.beginPath();
        g.arc(p[0][0] * k, p[0][1] * k, (s.width * k) / 2, 0, 2 * Math.PI);
        g.fill();
        return;
      }
      g.beginPath();
      const start = from || 0;
      g.moveTo(p[start][0] * k, p[start][1] * k);
      for (let i = start + 1; i < p.length; i++) {
        g.lineTo(p[i][0] * k, p[i][1] * k);
      }
      g.stroke();
    }
    redraw(c) {
      c = c || this.canvas;
      const g = c.getContext("2d");
      g.fillStyle = "#fff";
      g.fillRect(0, 0, c.width, c.height);
      for (const s of this.strokes) {
        this.paint(c, s);
      }
    }
    undo() {
      this.strokes.pop();
      this.current = null;
      this.redraw();
      this.changed();
    }
    clear() {
      this.strokes = [];
      this.current = null;
      this.redraw();
      this.changed();
    }
    // export draws the strokes afresh at exportWidth, as PNG: lossless
    // keeps lines crisp, and flat colours compress to a few tens of KB.
    async export() {
      const c = document.createElement("canvas");
      c.width = exportWidth;
      c.height = Math.round(exportWidth * aspect);
      this.redraw(c);
      return describe(await encode(c, ["image/png"]), c.width, c.height);
    }
  }

  // pad is the drawing pad on the canvas with id, made on first use.
  function pad(id) {
    const canvas = document.getElementById(id);
    if (!canvas) {
      return null;
    }
    let p = pads.get(canvas);
    if (!p) {
      p = new Pad(canvas);
      pads.set(canvas, p);
    }
    return p;
  }

  // The kept pictures: one IndexedDB store, Blobs by key. Every call
  // opens the database anew when the last open failed (private mode may
  // allow it later).
  let opened = null;
  function db() {
    if (!opened) {
      opened = new Promise((resolve, reject) => {
        const req = indexedDB.open("kairan", 1);
        req.onupgradeneeded = () => req.result.createObjectStore("pictures");
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
        req.onblocked = () => reject(new Error("the picture store is blocked by another tab"));
      }).catch((err) => {
        opened = null;
        throw err;
      });
    }
    return opened;
  }
  async function run(mode, f) {
    const d = await db();
    return new Promise((resolve, reject) => {
      const tx = d.transaction("pictures", mode);
      const req = f(tx.objectStore("pictures"));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error || new Error("aborted"));
    });
  }
  const urls = new Map(); // object URLs of kept pictures shown on this page
  // A kept picture is {blob, at}: at, when it was kept, lets sweep tell a
  // picture being posted right now from one left behind.
  const get = (key) => run("readonly", (s) => s.get(key)).then((v) => (v && v.blob) || null);

  // sweep drops kept pictures no outbox names (of any board: outboxes are
  // in local storage, kairan/outbox/<board>) once they are an hour old:
  // a picture taken back into the form and then abandoned, or kept by a
  // tab that closed before it queued the post.
  async function sweep() {
    const named = new Set();
    for (let i = 0; i < localStorage.length; i++) {
      const k = localStorage.key(i);
      if (!k || !k.startsWith("kairan/outbox/")) {
        continue;
      }
      try {
        const o = JSON.parse(localStorage.getItem(k));
        for (const op of (o.ops || (o.Value && o.Value.ops) || [])) {
          if (op.image && op.image.key) {
            named.add(op.image.key);
          }
        }
      } catch (err) {
        return 0; // an outbox this cannot read: keep everything
      }
    }
    const old = Date.now() - 3600e3;
    const d = await db();
    return new Promise((resolve, reject) => {
      let n = 0;
      const tx = d.transaction("pictures", "readwrite");
      tx.objectStore("pictures").openCursor().onsuccess = (e) => {
        const c = e.target.result;
        if (!c) {
          return;
        }
        if (!named.has(c.key) && !(c.value && c.value.at > old)) {
          c.delete();
          n++;
        }
        c.continue();
      };
      tx.oncomplete = () => resolve(n);
      tx.onerror = () => reject(tx.error);
    });
  }
  // Once per page, when it has settled.
  window.addEventListener("load", () => setTimeout(() => sweep().catch(() => {}), 5000));

  // The viewer: a tap (or Enter) on a topic's picture opens the full
  // picture over the page in a modal <dialog>, which keeps the focus
  // inside, closes on Escape, its button or a tap beside the picture, and
  // gives the focus back to the picture's link. The link itself still
  // opens the picture in a new tab (ctrl/⌘-click, or a browser without
  // <dialog>). Listening on the document, before go-app's own handler.
  function viewer() {
    let d = document.getElementById("pic-viewer");
    if (d) {
      return d;
    }
    d = document.createElement("dialog");
    d.id = "pic-viewer";
    d.className = "viewer";
    const close = document.createElement("button");
    close.type = "button";
    close.className = "viewer-close";
    const img = document.createElement("img");
    img.className = "viewer-img";
    d.append(close, img);
    document.body.append(d);
    close.addEventListener("click", () => d.close());
    d.addEventListener("click", (e) => {
      if (e.target === d) {
        d.close(); // a tap beside the picture
      }
    });
    d.addEventListener("close", () => {
      img.removeAttribute("src");
      if (d.returnTo && d.returnTo.isConnected) {
        d.returnTo.focus();
      }
    });
    return d;
  }
  document.addEventListener("click", (e) => {
    const a = e.target instanceof Element ? e.target.closest("a.pic[href]") : null;
    if (!a || e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey || typeof HTMLDialogElement !== "function") {
      return;
    }
    e.preventDefault();
    const small = a.querySelector("img");
    const d = viewer();
    const img = d.querySelector("img");
    img.alt = small ? small.alt : "";
    img.width = small ? +small.getAttribute("width") : 0; // the aspect, before the bytes arrive
    img.height = small ? +small.getAttribute("height") : 0;
    img.src = a.href;
    d.setAttribute("aria-label", img.alt);
    d.querySelector("button").textContent = document.documentElement.lang === "ja" ? "閉じる" : "Close";
    d.returnTo = a;
    d.showModal();
    d.querySelector("button").focus();
  }, true);

  window.kairanPics = {
    shrink: shrink,
    pad: pad,
    sweep: sweep,
    keep: (key, blob) => run("readwrite", (s) => s.put({ blob: blob, at: Date.now() }, key)).then(() => true),
    load: get,
    drop: (key) => {
      const u = urls.get(key);
      if (u) {
        URL.revokeObjectURL(u);
        urls.delete(key);
      }
      return run("readwrite", (s) => s.delete(key)).then(() => true);
    },
    // url is an object URL of the kept picture at key ("" when none).
    url: async (key) => {
      if (!urls.has(key)) {
        const b = await get(key);
        if (!b) {
          return "";
        }
        urls.set(key, URL.createObjectURL(b));
      }
      return urls.get(key);
    },
  };
})();
