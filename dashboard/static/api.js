// Talking to the daemon: JSON requests with the access token, and the SSE stream.
//
// Token: taken once from the address (#token=T, or ?token=T which the server turns into a
// cookie), kept in sessionStorage, sent as the X-Sitwell-Token header on changes and as
// ?token= on the EventSource (which cannot send headers). Without a token the HttpOnly
// cookie set by /?token=T still works.

const TOKEN_KEY = "sitwell-token";

export function readToken() {
  const hash = new URLSearchParams(location.hash.slice(1));
  const fromHash = hash.get("token");
  if (fromHash) {
    sessionStorage.setItem(TOKEN_KEY, fromHash);
    // keep the token out of the address bar, history and screenshots
    history.replaceState(null, "", location.pathname + location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export class Api {
  constructor(token) {
    this.token = token;
  }

  async request(method, path, body) {
    const headers = { Accept: "application/json" };
    if (this.token) headers["X-Sitwell-Token"] = this.token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (!response.ok) {
      const detail = data && (data.message || (typeof data.detail === "string" ? data.detail : null));
      throw new ApiError(response.status, detail || `${method} ${path} failed (${response.status})`);
    }
    return data;
  }

  get(path) {
    return this.request("GET", path);
  }

  streamUrl(cushion) {
    const q = new URLSearchParams();
    if (cushion) q.set("cushion", cushion);
    if (this.token) q.set("token", this.token);
    const s = q.toString();
    return "/api/stream" + (s ? "?" + s : "");
  }

  // handlers: {state, reminder, reminder_update, health, open, error}
  openStream(cushion, handlers) {
    const source = new EventSource(this.streamUrl(cushion));
    for (const name of ["state", "reminder", "reminder_update", "health"]) {
      source.addEventListener(name, (ev) => {
        let payload;
        try {
          payload = JSON.parse(ev.data);
        } catch {
          return;
        }
        if (handlers[name]) handlers[name](payload);
      });
    }
    source.onopen = () => handlers.open && handlers.open();
    source.onerror = () => handlers.error && handlers.error(source.readyState);
    return source;
  }
}
