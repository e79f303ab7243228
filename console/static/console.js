// The console page: one EventSource brings each panel's HTML (rendered and escaped by the
// server); clicks ask the server for a fragment. No framework, no build step, nothing remote.
"use strict";

(function () {
  const view = { status: "", page: 1, seatsPage: 1, saga: null, aggregate: null };
  const $ = (id) => document.getElementById(id);
  const targets = {
    sagas: "sagas-body",
    seats: "seats-body",
    messages: "messages-body",
    slow: "slow",
    aggregates: "aggregates",
  };
  let source = null;

  function setLink(up) {
    const link = $("link");
    link.textContent = up ? "live" : "reconnecting…";
    link.className = up ? "link-up" : "link-down";
  }

  function connect() {
    if (source) source.close();
    const query = new URLSearchParams({ page: view.page, seatsPage: view.seatsPage });
    if (view.status) query.set("status", view.status);
    source = new EventSource("/stream?" + query.toString());
    for (const [topic, id] of Object.entries(targets)) {
      source.addEventListener(topic, (message) => {
        $(id).innerHTML = message.data;
        if (topic === "sagas") refreshLog();
      });
    }
    source.onopen = () => setLink(true);
    source.onerror = () => setLink(false);
  }

  async function fragment(url) {
    const answer = await fetch(url, { headers: { Accept: "text/html" } });
    return answer.text();
  }

  function pager(id) {
    const node = document.querySelector("#" + id + " .pager");
    return node ? { page: Number(node.dataset.page), pages: Number(node.dataset.pages) } : { page: 1, pages: 1 };
  }

  // --- sagas ---------------------------------------------------------------------------------
  // The open saga's log is read again at each change of the sagas panel until it ended; a
  // change that arrives while it is being read makes it read once more afterwards.
  let logBusy = false;
  let logAgain = false;
  async function refreshLog() {
    if (!view.saga) return;
    if (logBusy) {
      logAgain = true;
      return;
    }
    const shown = document.querySelector("#saga-log .saga-log");
    const ended = ["COMPLETED", "COMPENSATED", "COMPENSATION_FAILED"];
    if (shown && shown.dataset.sagaId === view.saga && ended.includes(shown.dataset.status)) return;
    logBusy = true;
    try {
      $("saga-log").innerHTML = await fragment("/ui/saga/" + encodeURIComponent(view.saga));
    } finally {
      logBusy = false;
      if (logAgain) {
        logAgain = false;
        refreshLog();
      }
    }
  }

  function openSaga(id) {
    view.saga = id;
    $("saga-log").innerHTML = "";
    refreshLog();
  }

  $("saga-status").addEventListener("change", (e) => {
    view.status = e.target.value;
    view.page = 1;
    connect();
  });
  $("saga-prev").addEventListener("click", () => {
    if (view.page > 1) { view.page -= 1; connect(); }
  });
  $("saga-next").addEventListener("click", () => {
    if (view.page < pager("sagas-body").pages) { view.page += 1; connect(); }
  });
  $("seats-prev").addEventListener("click", () => {
    if (view.seatsPage > 1) { view.seatsPage -= 1; connect(); }
  });
  $("seats-next").addEventListener("click", () => {
    if (view.seatsPage < pager("seats-body").pages) { view.seatsPage += 1; connect(); }
  });

  // --- booking form ------------------------------------------------------------------------
  async function loadEvents() {
    const select = $("book-event");
    const options = await fragment("/ui/event-options");
    // The choice made while the list was being fetched is kept.
    const chosen = select.value;
    select.innerHTML = options;
    if (chosen) select.value = chosen;
    choosePrice();
  }

  function choosePrice() {
    const option = $("book-event").selectedOptions[0];
    if (option) $("book-price").value = option.dataset.price;
  }

  $("book-event").addEventListener("change", choosePrice);
  $("book-event").addEventListener("focus", loadEvents);

  $("booking").addEventListener("submit", async (e) => {
    e.preventDefault();
    const result = $("booking-result");
    const body = {
      eventId: Number($("book-event").value),
      userId: $("book-email").value,
      userName: $("book-name").value,
      userEmail: $("book-email").value,
      seats: Number($("book-seats").value),
      ticketPrice: Number($("book-price").value),
      paymentMethod: $("book-method").value,
    };
    result.textContent = "sending…";
    try {
      const answer = await fetch("/api/saga/booking", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      const data = await answer.json();
      if (answer.status === 202) {
        result.textContent = "saga " + data.sagaId + " " + data.status;
        result.dataset.sagaId = data.sagaId;
        openSaga(String(data.sagaId));
      } else {
        const fields = (data.errors || []).map((f) => f.field + ": " + f.message).join("; ");
        result.textContent = answer.status + " " + (data.detail || data.title || "") + (fields ? " (" + fields + ")" : "");
      }
    } catch (error) {
      result.textContent = "not sent: " + error;
    }
  });

  // --- event store ----------------------------------------------------------------------------
  let stateTimer = null;
  async function showState(version) {
    $("version-out").textContent = version;
    const query = new URLSearchParams({ id: view.aggregate, version: version });
    $("state").innerHTML = await fragment("/ui/reconstruct?" + query.toString());
  }

  async function openAggregate(id) {
    view.aggregate = id;
    $("aggregate-id").value = id;
    $("aggregate-body").innerHTML = await fragment("/ui/aggregate?" + new URLSearchParams({ id: id }).toString());
    const slider = $("version-slider");
    if (!slider) return;
    slider.addEventListener("input", () => {
      $("version-out").textContent = slider.value;
      clearTimeout(stateTimer);
      stateTimer = setTimeout(() => showState(slider.value), 120);
    });
    showState(slider.value);
  }

  $("aggregate-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const id = $("aggregate-id").value.trim();
    if (id) openAggregate(id);
  });

  document.addEventListener("click", (e) => {
    const saga = e.target.closest(".saga-link");
    if (saga) { e.preventDefault(); openSaga(saga.dataset.saga); return; }
    const aggregate = e.target.closest(".aggregate-link");
    if (aggregate) { e.preventDefault(); openAggregate(aggregate.dataset.aggregate); }
  });

  loadEvents();
  connect();
})();
