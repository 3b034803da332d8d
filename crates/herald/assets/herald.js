// Herald: progressive enhancement only. Every time on the page is printed in the page's zone;
// this adds the reader's own local time to its tooltip, and below it outside tables, when the
// reader's zone differs.
// Pages work fully without it.
(function () {
  "use strict";

  var pageZone = document.documentElement.getAttribute("data-time-zone");
  var readerZone;
  try {
    readerZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (e) {
    return;
  }
  if (!readerZone || readerZone === pageZone) {
    return;
  }

  var full = new Intl.DateTimeFormat(undefined, {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    timeZoneName: "short"
  });
  var clock = new Intl.DateTimeFormat(undefined, {
    hour: "2-digit",
    minute: "2-digit",
    timeZoneName: "short"
  });

  function parse(value) {
    // Date-only values (day headings) have no time to convert.
    if (!value || value.length <= 10) {
      return null;
    }
    var date = new Date(value);
    return isNaN(date.getTime()) ? null : date;
  }

  function sameDay(a, b) {
    return a.getFullYear() === b.getFullYear() &&
      a.getMonth() === b.getMonth() &&
      a.getDate() === b.getDate();
  }

  var times = document.querySelectorAll("time[datetime]");
  for (var i = 0; i < times.length; i++) {
    var el = times[i];
    var start = parse(el.getAttribute("datetime"));
    if (!start) {
      continue;
    }
    var text = full.format(start);
    var end = parse(el.getAttribute("data-end"));
    if (end) {
      text += " \u2013 " + (sameDay(start, end) ? clock.format(end) : full.format(end));
    }
    // In table cells (the postmortem timeline) a second line would crowd narrow screens.
    if (!el.closest("td")) {
      var note = document.createElement("span");
      note.className = "local-time";
      note.textContent = "Your time: " + text;
      el.insertAdjacentElement("afterend", note);
    }
    el.setAttribute("title", (el.getAttribute("title") ? el.getAttribute("title") + "\n" : "") + "Your time: " + text);
  }
})();
