"use strict";
// The curation page: one track at a time, every click one POST, keyboard first.
(function () {
  const $ = (id) => document.getElementById(id);
  const client = sessionStorage.getItem("curate-client") ||
    Math.random().toString(36).slice(2) + Date.now().toString(36);
  sessionStorage.setItem("curate-client", client);
  const curatorInput = $("curator");
  curatorInput.value = localStorage.getItem("curate-curator") || "";
  curatorInput.addEventListener("change", () =>
    localStorage.setItem("curate-curator", curatorInput.value.trim()));

  let session = null;
  let track = null;      // the track shown, as the server last described it
  let focused = 0;       // index of the focused tag row
  let chain = Promise.resolve();  // clicks are sent one after the other, in order
  // Round trips of actions (key pressed -> page updated): {action, ms}, read by the tests.
  window.curateTimings = [];
  window.curateBusy = 0;

  function say(text, conflict) {
    const status = $("status");
    status.textContent = text;
    status.className = conflict ? "conflict" : "";
  }

  async function call(method, path, body) {
    const options = { method, headers: {} };
    if (body !== undefined) {
      options.headers["content-type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(path, options);
    let data = null;
    try { data = await response.json(); } catch (error) { data = { detail: response.statusText }; }
    return { status: response.status, data };
  }

  function format(value, digits) {
    return value === null || value === undefined ? "–" : Number(value).toFixed(digits);
  }

  function render(view) {
    track = view;
    const rows = $("tags");
    rows.textContent = "";
    if (view === null) {
      $("track-title").textContent = "every track is done";
      $("track-meta").textContent = "Export the verdicts: tagdecide curate export --db " +
        session.database + " --out val_y.csv";
      $("player").hidden = true;
      return;
    }
    const info = view.info;
    $("track-title").textContent = info.title ? info.title : "ChallengeID " + view.track;
    const meta = [info.artist, info.album].filter(Boolean);
    meta.push("ChallengeID " + view.track, "queue position " + (view.position + 1) +
      " of " + session.budget);
    if (view.done) meta.push("done");
    if (view.curators.length) meta.push("by " + view.curators.join(", "));
    $("track-meta").textContent = meta.join(" · ");
    const player = $("player");
    if (info.audio) {
      if (player.getAttribute("src") !== info.audio) player.src = info.audio;
      player.hidden = false;
    } else {
      player.removeAttribute("src");
      player.hidden = true;
    }
    const classes = [...new Set(view.tags.map((tag) => tag.class))];
    let index = 0;
    for (const name of classes) {
      const table = document.createElement("table");
      const caption = document.createElement("caption");
      caption.textContent = name;
      table.appendChild(caption);
      const head = table.createTHead().insertRow();
      for (const title of ["tag", "model", "score", "threshold", "margin", "moved by", "verdict"]) {
        const cell = document.createElement("th");
        cell.scope = "col";
        cell.textContent = title;
        head.appendChild(cell);
      }
      const body = table.createTBody();
      for (const tag of view.tags.filter((item) => item.class === name)) {
        const row = body.insertRow();
        row.className = "tag-row" + (tag.verdict === 1 ? " verdict-yes" : "") +
          (tag.verdict === 0 ? " verdict-no" : "");
        row.tabIndex = -1;
        row.dataset.index = String(index++);
        row.dataset.tag = tag.tag;
        const verdictText = tag.verdict === 1 ? "belongs" : tag.verdict === 0 ? "does not belong" : "no verdict";
        row.setAttribute("aria-label", tag.tag + ", " + (tag.given ? "given by the model" : "near miss") +
          ", score " + format(tag.score, 3) + ", margin " + format(tag.margin, 3) + ", " + verdictText);
        const cells = [
          [tag.tag, "tag-name"],
          [tag.given ? "given" : "near miss", tag.given ? "given" : "miss"],
          [format(tag.score, 3), "number"],
          [format(tag.threshold, 3), "number"],
          [(tag.margin >= 0 ? "+" : "") + format(tag.margin, 3), "number"],
          [tag.inputs.slice(0, 3).map((item) => item.input + " " +
            (item.contribution >= 0 ? "+" : "") + item.contribution.toFixed(2)).join(", "), "inputs"],
        ];
        for (const [text, kind] of cells) {
          const cell = row.insertCell();
          cell.textContent = text;
          cell.className = kind;
        }
        const buttons = row.insertCell();
        for (const [label, present, key] of [["accept", 1, "a"], ["reject", 0, "r"]]) {
          const button = document.createElement("button");
          button.type = "button";
          button.textContent = label;
          button.setAttribute("aria-pressed", tag.verdict === present ? "true" : "false");
          button.setAttribute("aria-label", label + " " + tag.tag + " (" + key + ")");
          button.addEventListener("click", () => { focused = Number(row.dataset.index); verdict(tag.tag, present, performance.now()); });
          buttons.appendChild(button);
        }
      }
      rows.appendChild(table);
    }
    focusRow(Math.min(focused, index - 1));
  }

  function tagRows() { return [...document.querySelectorAll("tr.tag-row")]; }

  function focusRow(index) {
    const rows = tagRows();
    if (!rows.length) return;
    focused = Math.max(0, Math.min(index, rows.length - 1));
    rows.forEach((row, at) => { row.tabIndex = at === focused ? 0 : -1; });
    if (document.activeElement !== $("add-tag") && document.activeElement !== curatorInput) {
      rows[focused].focus();
    }
  }

  function record(started, action) {
    if (started !== undefined) window.curateTimings.push({ action, ms: performance.now() - started });
  }

  function send(path, body, started, after) {
    const action = path.slice(1);
    if (track === null) return chain;
    window.curateBusy++;
    chain = chain.then(async () => {
      const curator = curatorInput.value.trim();
      const payload = Object.assign({ version: track.version }, body);
      if (curator) payload.curator = curator;
      const answer = await call("POST", "/api/tracks/" + track.track + path, payload);
      if (answer.status === 200) {
        say("");
        render(answer.data);
        if (after) await after(answer.data);
      } else if (answer.status === 409) {
        render(answer.data.track);
        const click = body.tag === undefined ? action :
          (body.present ? "accept " : "reject ") + body.tag;
        say(answer.data.detail.replace("your click", "your click (" + click + ")"), true);
      } else {
        say("not saved: " + answer.data.detail, true);
      }
      record(started, action);
    }).catch((error) => say("not saved: the server does not answer (" + error + ")", true))
      .finally(() => { window.curateBusy--; });
    return chain;
  }

  function verdict(tag, present, started) {
    return send("/verdicts", { tag, present }, started, async () => focusRow(focused + 1));
  }

  async function next(after, started) {
    const query = "/api/next?client=" + encodeURIComponent(client) +
      (after === undefined ? "" : "&after=" + after);
    const answer = await call("GET", query);
    if (answer.status !== 200) { say(answer.data.detail, true); return; }
    focused = 0;
    render(answer.data.track);
    record(started, "next");
  }

  async function progress() {
    const answer = await call("GET", "/api/progress");
    if (answer.status !== 200) return;
    const data = answer.data;
    $("progress-text").textContent = data.done + " of " + data.budget + " tracks done";
    $("progress-bar").max = Math.max(1, data.budget);
    $("progress-bar").value = data.done;
    const body = document.querySelector("#figures-table tbody");
    body.textContent = "";
    const interval = (e) => e.value === null ? "–" :
      e.value.toFixed(2) + " [" + e.low.toFixed(2) + "–" + e.high.toFixed(2) + "]";
    let weighted = null;
    for (const row of data.figures) {
      const line = body.insertRow();
      const head = document.createElement("th");
      head.scope = "row";
      head.textContent = row.class;
      line.appendChild(head);
      for (const key of ["precision", "recall", "f1"]) line.insertCell().textContent = interval(row[key]);
      if (row.weighted_f1) weighted = row.weighted_f1;
    }
    $("weighted").textContent = weighted ? "weighted F1 on " + data.done + (data.done === 1 ? " track: " : " tracks: ") + interval(weighted) : "";
  }

  function wrap(action) {
    // Waits for the clicks before it, so a fast "a a d" is applied in order.
    window.curateBusy++;
    chain = chain.then(action).catch((error) => say("the server does not answer (" + error + ")", true))
      .finally(() => { window.curateBusy--; });
    return chain;
  }

  function done(started) {
    // Timed from the key to the next track shown (recorded as "next").
    return send("/done", {}, undefined, async (view) => {
      await next(view.position, started);
      progress();  // not waited for: the next key need not wait for the figures
    });
  }

  function skip(started) {
    return wrap(() => next(track === null ? undefined : track.position, started));
  }

  function undo(started) {
    return send("/undo", {}, started);
  }

  $("undo").addEventListener("click", () => undo(performance.now()));
  $("skip").addEventListener("click", () => skip(performance.now()));
  $("done").addEventListener("click", () => done(performance.now()));
  $("add-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("add-tag");
    const tag = input.value.trim();
    if (!session.tags.includes(tag)) { say("'" + tag + "' is not one of the model's tags", true); return; }
    input.value = "";
    send("/verdicts", { tag, present: 1 }, performance.now(), async () => {
      input.blur();
      const rows = tagRows();
      focusRow(rows.findIndex((row) => row.dataset.tag === tag));
    });
  });

  document.addEventListener("keydown", (event) => {
    const target = event.target;
    if (target instanceof HTMLInputElement) {
      if (event.key === "Escape") { target.blur(); focusRow(focused); }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const started = performance.now();
    const rows = tagRows();
    const row = rows[focused];
    switch (event.key) {
      case "ArrowDown": case "j": focusRow(focused + 1); break;
      case "ArrowUp": case "k": focusRow(focused - 1); break;
      case "a": if (row) verdict(row.dataset.tag, 1, started); break;
      case "r": if (row) verdict(row.dataset.tag, 0, started); break;
      case "t": $("add-tag").focus(); break;
      case "u": undo(started); break;
      case "s": skip(started); break;
      case "d": done(started); break;
      case "p": { const player = $("player"); if (!player.hidden) { if (player.paused) player.play(); else player.pause(); } break; }
      default: return;
    }
    event.preventDefault();
  });

  wrap(async () => {
    const answer = await call("GET", "/api/session");
    session = answer.data;
    const list = $("all-tags");
    for (const tag of session.tags) {
      const option = document.createElement("option");
      option.value = tag;
      list.appendChild(option);
    }
    await next();
    await progress();
  });
})();
