"""The console's one page: four panels and the booking form, filled by the live stream."""

from console.render import SAGA_STATUSES, esc
from console.settings import ConsoleSettings


def page(settings: ConsoleSettings) -> str:
    statuses = "".join(f'<option value="{s}">{s}</option>' for s in SAGA_STATUSES)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Fleet console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/console.css">
<script src="/static/console.js" defer></script>
</head>
<body>
<header>
  <h1>Fleet console</h1>
  <span id="slow"></span>
  <span id="link" class="link-down">connecting…</span>
  <span class="muted">read-only view of exchange <b>{esc(settings.amqp_exchange)}</b>,
    refreshed every {settings.poll_seconds:g} s while this page is open</span>
</header>
<main>
<section id="panel-sagas" class="panel wide">
  <h2>Sagas</h2>
  <form id="booking" class="booking" autocomplete="off">
    <b>Book through the saga</b>
    <label>event <select id="book-event" name="eventId" required></select></label>
    <label>seats
      <input id="book-seats" name="seats" type="number" min="1" max="10000" value="2" required></label>
    <label>price <input id="book-price" name="ticketPrice" type="number" min="0" step="any" required></label>
    <label>name <input id="book-name" name="userName" value="Awa Ndiaye" maxlength="200" required></label>
    <label>email
      <input id="book-email" name="userEmail" type="email" value="awa.ndiaye@example.sn" required></label>
    <label>pay by <select id="book-method" name="paymentMethod">
      <option value="mobile_money">mobile money</option><option value="card">card</option>
      <option value="bank_transfer">bank transfer</option></select></label>
    <button type="submit" id="book-submit">Book</button>
    <span id="booking-result" role="status"></span>
  </form>
  <div class="controls">
    <label>status <select id="saga-status"><option value="">all</option>{statuses}</select></label>
    <button type="button" id="saga-prev">newer</button>
    <button type="button" id="saga-next">older</button>
    <span class="legend"><span class="step st-succeeded">step</span>
      <span class="step compensation st-succeeded">↩ compensation</span>
      <span class="step st-started">in progress</span><span class="step st-failed">failed</span></span>
  </div>
  <div id="sagas-body" class="body"><p class="muted">loading…</p></div>
  <div id="saga-log" class="body"></div>
</section>
<section id="panel-seats" class="panel">
  <h2>Seats</h2>
  <div class="controls">
    <button type="button" id="seats-prev">previous</button>
    <button type="button" id="seats-next">next</button>
    <span class="legend"><span class="swatch booked"></span>booked
      <span class="swatch margin"></span>5 % margin <span class="swatch available"></span>available</span>
  </div>
  <div id="seats-body" class="body"><p class="muted">loading…</p></div>
</section>
<section id="panel-store" class="panel">
  <h2>Event store</h2>
  <form id="aggregate-form" class="controls">
    <label>aggregate <input id="aggregate-id" list="aggregates" size="40" maxlength="200"
      placeholder="an aggregate id (click one in Messages)"></label>
    <datalist id="aggregates"></datalist>
    <button type="submit">show</button>
  </form>
  <div id="aggregate-body" class="body"></div>
</section>
<section id="panel-messages" class="panel wide">
  <h2>Messages</h2>
  <div id="messages-body" class="body"><p class="muted">loading…</p></div>
</section>
</main>
</body>
</html>
"""
