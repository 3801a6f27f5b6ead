/* evalgap report: progressive enhancement. The page reads in full without this script;
   it adds sorting, interactive charts and the benchmark picker. It only ever writes text
   with textContent and never builds HTML from data. */
(function () {
  "use strict";
  var doc = document;
  doc.documentElement.classList.add("js");

  function readJSON(id) {
    var el = doc.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  /* -- sortable tables ----------------------------------------------------------------- */
  function sortKey(row, col, numeric) {
    var cell = row.cells[col];
    if (!cell) return numeric ? NaN : "";
    if (numeric) {
      var v = cell.getAttribute("data-v");
      return v === null || v === "" ? NaN : parseFloat(v);
    }
    return cell.textContent.trim().toLowerCase();
  }

  function sortTable(table, col, th) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var numeric = rows.every(function (r) {
      return r.cells[col] && r.cells[col].hasAttribute("data-v");
    });
    var dir = th.getAttribute("aria-sort") === "descending" ? "ascending" : "descending";
    if (!numeric && th.getAttribute("aria-sort") !== "ascending") dir = "ascending";
    var sign = dir === "ascending" ? 1 : -1;
    var keyed = rows.map(function (r, i) {
      return { row: r, key: sortKey(r, col, numeric), i: i };
    });
    keyed.sort(function (a, b) {
      var ka = a.key, kb = b.key;
      if (numeric) {
        var na = isNaN(ka), nb = isNaN(kb);
        if (na || nb) return na === nb ? a.i - b.i : na ? 1 : -1; // blanks last
        if (ka !== kb) return sign * (ka - kb);
      } else if (ka !== kb) {
        return sign * (ka < kb ? -1 : 1);
      }
      return a.i - b.i;
    });
    keyed.forEach(function (k) { body.appendChild(k.row); });
    Array.prototype.forEach.call(th.parentNode.cells, function (other) {
      other.setAttribute("aria-sort", "none");
    });
    th.setAttribute("aria-sort", dir);
  }

  Array.prototype.forEach.call(doc.querySelectorAll("table.sortable"), function (table) {
    if (!table.tHead || !table.tBodies.length) return;
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      var button = doc.createElement("button");
      button.type = "button";
      button.className = "sort";
      button.title = "Sort by this column";
      while (th.firstChild) button.appendChild(th.firstChild);
      th.appendChild(button);
      th.setAttribute("aria-sort", "none");
      button.addEventListener("click", function () { sortTable(table, col, th); });
    });
  });

  /* -- interactive charts -------------------------------------------------------------- */
  var specs = readJSON("evalgap-charts") || {};
  var views = {};
  var pending = [];
  var embed = window.vegaEmbed;
  Object.keys(specs).forEach(function (id) {
    var slot = doc.getElementById(id);
    if (!slot || typeof embed !== "function") return;
    var live = doc.createElement("div");
    live.className = "live";
    live.hidden = true;
    slot.appendChild(live);
    pending.push(
      embed(live, specs[id], {
        ast: true, // Vega's expression interpreter: no eval, so the CSP needs no 'unsafe-eval'
        actions: false,
        renderer: "svg",
        logLevel: window.vega ? window.vega.Error : undefined
      })
        .then(function (res) {
          views[id] = res.view;
          var still = slot.querySelector(".static");
          if (still) still.parentNode.removeChild(still);
          live.hidden = false;
          slot.classList.add("interactive");
        })
        .catch(function (err) {
          live.parentNode.removeChild(live);
          console.warn("evalgap: chart " + id + " stays static: " + err);
        })
    );
  });

  /* -- benchmark picker ---------------------------------------------------------------- */
  var benchmarks = readJSON("evalgap-benchmarks") || [];
  var picker = doc.getElementById("bench-pick");
  var box = doc.getElementById("picker");

  function fmt(v, digits) {
    return v === null || v === undefined ? "–" : v.toFixed(digits);
  }

  function describe(b) {
    var text = "ρ capabilities " + fmt(b.rho, 2);
    if (b.lo !== null && b.hi !== null) text += " [" + fmt(b.lo, 2) + ", " + fmt(b.hi, 2) + "]";
    text += " · verdict " + b.verdict + " · n = " + b.n;
    if (b.crho !== null) text += " · ρ log FLOP " + fmt(b.crho, 2);
    if (b.p !== null) text += " · p = " + fmt(b.p, 4);
    return text;
  }

  function show(i) {
    var b = benchmarks[i];
    if (!b) return;
    if (picker) picker.value = String(i);
    var title = doc.getElementById("pick-title");
    var stats = doc.getElementById("pick-stats");
    if (title) title.textContent = b.label + " (" + b.area + ")";
    if (stats) stats.textContent = describe(b);
    var view = views["scatter-live"];
    if (view) view.signal("pick", i).runAsync();
  }

  Promise.all(pending).then(function () {
    if (box && picker && views["scatter-live"]) {
      box.hidden = false;
      picker.addEventListener("change", function () { show(parseInt(picker.value, 10)); });
      show(parseInt(picker.value, 10) || 0);
      var forest = views["forest"];
      if (forest) {
        forest.addEventListener("click", function (event, item) {
          if (item && item.datum && typeof item.datum.i === "number") {
            show(item.datum.i);
            box.scrollIntoView({ block: "start" });
          }
        });
      }
    }
    doc.documentElement.setAttribute("data-charts", "ready");
  });
})();
