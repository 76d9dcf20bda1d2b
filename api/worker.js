// kairan's service worker (Handler.ServiceWorkerTemplate). go-app fills in
// {{.Version}} and {{.ResourcesToCache}}.
//
// Unlike go-app's default worker it never touches /api/ (the event stream
// above all: a worker holding an open stream keeps a new version waiting
// for ever), nor non-GET requests, nor other origins. The app's files are
// served cache-first; pages stale-while-revalidate (page below). The one
// exception under /api/ is a picture (GET /api/images/…), which never
// changes once made: pictures seen are kept in a cache of their own, so an
// offline board still shows them (picture below).
const cacheName = "kairan-" + "{{.Version}}";
const resourcesToCache = {{.ResourcesToCache}};
// Pictures outlive versions (their bytes never change), so their cache is
// not named by version and activation keeps it; it holds the most recently
// stored keptPictures (a preview is ~30–60 KB).
const pictureCache = "kairan-pictures";
const keptPictures = 300;

self.addEventListener("install", (event) => {
  // Cache everything before this version may take over.
  event.waitUntil((async () => {
    const cache = await caches.open(cacheName);
    await cache.addAll(resourcesToCache);
    await self.skipWaiting();
  })());
});

// As in go-app's worker, activation does not wait: go-app's page script
// reports an update when a new worker becomes "activated" while the page
// already has a controller, and claiming clients inside waitUntil would
// make the very first install look like an update.
self.addEventListener("activate", async () => {
  const keys = await caches.keys();
  await Promise.all(keys.filter((k) => k !== cacheName && k !== pictureCache).map((k) => caches.delete(k)));
  await self.clients.claim();
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") {
    return;
  }
  const url = new URL(request.url);
  if (url.origin === self.location.origin && /^\/api\/images\/[A-Za-z0-9_-]+(\/preview)?$/.test(url.pathname)) {
    event.respondWith(picture(event));
    return;
  }
  if (url.origin !== self.location.origin || url.pathname.startsWith("/api/") ||
      url.pathname === "/healthz" || url.pathname === "/metrics" ||
      request.headers.get("Accept") === "text/event-stream") {
    return; // straight to the network, never held by the worker
  }
  event.respondWith(request.mode === "navigate" ? page(event) : cacheFirst(request));
});

async function cacheFirst(request) {
  const cached = await caches.match(request, { ignoreSearch: true });
  return cached || fetch(request);
}

// page answers a navigation with the page as this browser last saw it
// (each board's own prerendered HTML, so an installed app paints the last
// board at once, offline too) and fetches it again for next time
// (stale-while-revalidate). A page never seen comes from the network, and
// offline falls back to the shell (the app routes by URL and shows the
// board's saved replica).
async function page(event) {
  const request = event.request;
  const cache = await caches.open(cacheName);
  const key = new URL(request.url);
  key.search = "";
  const cached = await cache.match(key.href);
  const fresh = fetch(request).then(async (response) => {
    if (response.ok && response.type === "basic") {
      await cache.put(key.href, response.clone());
    }
    return response;
  });
  if (cached) {
    event.waitUntil(fresh.catch(() => {}));
    return cached;
  }
  try {
    return await fresh;
  } catch (err) {
    return (await cache.match("/")) || Response.error();
  }
}

// picture answers GET /api/images/{id}[/preview] from the picture cache,
// else from the network, keeping what came (a 200 only: a 404 may be a
// picture not yet replicated, or deleted). The answer is immutable, so a
// cached one is never asked again.
async function picture(event) {
  const request = event.request;
  const cache = await caches.open(pictureCache);
  const cached = await cache.match(request.url);
  if (cached) {
    return cached;
  }
  const response = await fetch(request);
  if (response.ok && response.type === "basic") {
    event.waitUntil(cache.put(request.url, response.clone()).then(() => trim(cache)).catch(() => {}));
  }
  return response;
}

// trim drops the oldest pictures beyond keptPictures (keys come back in
// the order they were stored).
async function trim(cache) {
  const keys = await cache.keys();
  await Promise.all(keys.slice(0, Math.max(0, keys.length - keptPictures)).map((k) => cache.delete(k)));
}
