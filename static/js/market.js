/* Orbit: the asset page's market chart (templates/includes/asset_chart.html).
 *
 * Draws candles, volume and the community's markers with TradingView's lightweight-charts (vendored in
 * static/vendor/) from feed:asset_candles (?tf=1h|4h|1d|1w), and lists the same markers as links below
 * the chart so they can be reached with the keyboard. Colours are the theme's tokens (--up, --down,
 * --fg, --line, --card, --muted, --link), read with getComputedStyle and read again when the theme
 * changes (an `orbit:themechange` event on document, or the system's colour scheme).
 * Excerpts are text: they reach the page only through textContent.
 */
(function () {
  "use strict";

  var root = document.getElementById("asset-chart");
  var Charts = window.LightweightCharts;
  if (!root || !Charts) return;

  var card = root.closest(".market-chart-card");
  var box = root.querySelector(".chart-canvas");
  var tooltip = root.querySelector(".chart-tooltip");
  var statusLine = card.querySelector(".chart-status");
  var list = card.querySelector(".chart-markers");
  var buttons = card.querySelectorAll(".chart-timeframe");
  var labels = root.dataset;
  var lang = document.documentElement.lang || undefined;

  // --- Colours from the theme ----------------------------------------------------------------

  var probe = document.createElement("canvas").getContext("2d");

  // Any CSS colour the theme uses (hex, rgb(), hsl(), named…) as the canvas's own #rrggbb or rgba().
  function cssColour(name, fallback) {
    var value = getComputedStyle(root).getPropertyValue(name).trim();
    if (!value) return fallback;
    probe.fillStyle = fallback;
    probe.fillStyle = value;
    return probe.fillStyle;
  }

  function withAlpha(colour, alpha) {
    var hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(colour);
    if (hex) {
      return "rgba(" + parseInt(hex[1], 16) + ", " + parseInt(hex[2], 16) + ", " + parseInt(hex[3], 16) + ", " + alpha + ")";
    }
    var rgba = /^rgba?\(([^,]+),([^,]+),([^,)]+)/.exec(colour);
    return rgba ? "rgba(" + rgba[1] + "," + rgba[2] + "," + rgba[3] + ", " + alpha + ")" : colour;
  }

  var colours = {};

  function readColours() {
    colours = {
      up: cssColour("--up", "#0ecb81"),
      down: cssColour("--down", "#f6465d"),
      fg: cssColour("--fg", "#1e2329"),
      muted: cssColour("--muted", "#707a8a"),
      line: cssColour("--line", "#eaecef"),
      card: cssColour("--card", "#ffffff"),
      link: cssColour("--link", "#c99400"),
    };
  }

  function chartOptions() {
    return {
      autoSize: true,
      layout: {
        background: { type: Charts.ColorType.Solid, color: colours.card },
        textColor: colours.fg,
        fontFamily: getComputedStyle(document.body).fontFamily,
        // The link TradingView's licence asks for is a text link under the chart: their logo
        // injects a <style> element, which the page's CSP (style-src 'self') refuses.
        attributionLogo: false,
      },
      grid: { vertLines: { color: colours.line }, horzLines: { color: colours.line } },
      rightPriceScale: { borderColor: colours.line },
      timeScale: { borderColor: colours.line, timeVisible: true, secondsVisible: false },
      crosshair: {
        mode: Charts.CrosshairMode.Normal,
        vertLine: { color: colours.muted, labelBackgroundColor: colours.fg },
        horzLine: { color: colours.muted, labelBackgroundColor: colours.fg },
      },
      localization: { locale: lang },
    };
  }

  function candleOptions() {
    return {
      upColor: colours.up,
      downColor: colours.down,
      wickUpColor: colours.up,
      wickDownColor: colours.down,
      borderVisible: false,
    };
  }

  readColours();
  var chart = Charts.createChart(box, chartOptions());
  var candleSeries = chart.addSeries(Charts.CandlestickSeries, candleOptions());
  candleSeries.priceScale().applyOptions({ scaleMargins: { top: 0.08, bottom: 0.28 } });
  var volumeSeries = chart.addSeries(Charts.HistogramSeries, {
    priceFormat: { type: "volume" },
    priceScaleId: "volume",
    lastValueVisible: false,
    priceLineVisible: false,
  });
  chart.priceScale("volume").applyOptions({ scaleMargins: { top: 0.78, bottom: 0 } });
  var markerLayer = Charts.createSeriesMarkers(candleSeries, []);

  // --- Data ----------------------------------------------------------------------------------

  var current = { candles: [], markers: [] };
  var byId = {};
  var closeAt = {};
  var request = null;

  function volumeData() {
    var up = withAlpha(colours.up, 0.45);
    var down = withAlpha(colours.down, 0.45);
    return current.candles.map(function (bar) {
      return { time: bar.time, value: bar.volume, color: bar.close >= bar.open ? up : down };
    });
  }

  function markerKind(marker) {
    if (marker.kind !== "call") return { label: labels.labelPost, css: "chart-marker-post" };
    return marker.direction === "down"
      ? { label: labels.labelCallDown, css: "chart-marker-call-down" }
      : { label: labels.labelCallUp, css: "chart-marker-call-up" };
  }

  // Enough decimals for the asset's price: 2 for BTC at 64,000, 8 for a coin at 0.00001234.
  function priceFormat(candles) {
    var last = candles.length ? candles[candles.length - 1].close : 1;
    var precision = last > 0 ? Math.ceil(-Math.log10(last)) + 3 : 2;
    precision = Math.max(2, Math.min(10, precision));
    var grouped = new Intl.NumberFormat(lang, { minimumFractionDigits: precision, maximumFractionDigits: precision });
    return { type: "custom", minMove: Math.pow(10, -precision), formatter: function (price) { return grouped.format(price); } };
  }

  function chartMarkers() {
    return current.markers.map(function (marker) {
      if (marker.kind === "call" && marker.direction === "down") {
        return { id: marker.id, time: marker.bar_time, position: "aboveBar", shape: "arrowDown", color: colours.down };
      }
      if (marker.kind === "call") {
        return { id: marker.id, time: marker.bar_time, position: "belowBar", shape: "arrowUp", color: colours.up };
      }
      return { id: marker.id, time: marker.bar_time, position: "aboveBar", shape: "circle", color: colours.link, size: 0.6 };
    });
  }

  function when(seconds) {
    var text;
    try {
      text = new Date(seconds * 1000).toLocaleString(lang, {
        timeZone: "UTC", year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
      });
    } catch (error) {
      text = new Date(seconds * 1000).toISOString().slice(0, 16).replace("T", " ");
    }
    return text + " " + labels.labelUtc;
  }

  function span(className, text) {
    var element = document.createElement("span");
    element.className = className;
    element.textContent = text;
    return element;
  }

  function renderList() {
    list.replaceChildren();
    if (!current.markers.length) {
      var none = document.createElement("li");
      none.className = "chart-markers-none";
      none.textContent = list.dataset.labelNone;
      list.appendChild(none);
      return;
    }
    // Newest first, as feeds read; the chart draws them oldest first.
    current.markers.slice().reverse().forEach(function (marker) {
      var kind = markerKind(marker);
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = marker.url;
      link.className = "chart-marker-link " + kind.css;
      link.dataset.markerId = marker.id;
      var time = document.createElement("time");
      time.className = "chart-marker-time";
      time.dateTime = new Date(marker.time * 1000).toISOString();
      time.textContent = when(marker.time);
      link.append(span("chart-marker-kind", kind.label), time, span("chart-marker-author", "@" + marker.author));
      link.appendChild(span("chart-marker-excerpt", marker.excerpt));
      link.addEventListener("focus", function () { pointAt(marker); });
      link.addEventListener("mouseenter", function () { pointAt(marker); });
      link.addEventListener("blur", clearPoint);
      link.addEventListener("mouseleave", clearPoint);
      item.appendChild(link);
      list.appendChild(item);
    });
  }

  function render(data, refresh) {
    current = { candles: data.candles || [], markers: data.markers || [] };
    byId = {};
    closeAt = {};
    current.markers.forEach(function (marker) { byId[marker.id] = marker; });
    current.candles.forEach(function (bar) { closeAt[bar.time] = bar.close; });
    candleSeries.applyOptions({ priceFormat: priceFormat(current.candles) });
    candleSeries.setData(current.candles.map(function (bar) {
      return { time: bar.time, open: bar.open, high: bar.high, low: bar.low, close: bar.close };
    }));
    volumeSeries.setData(volumeData());
    markerLayer.setMarkers(chartMarkers());
    // A refresh of the same timeframe keeps the reader's zoom and scroll.
    if (!refresh) chart.timeScale().fitContent();
    // Rebuilding an unchanged list would take the focus from a reader on one of its links.
    var listed = current.markers.map(function (marker) { return marker.id; }).join(",");
    if (!refresh || listed !== root.dataset.listed) renderList();
    root.dataset.listed = listed;
    statusLine.textContent = current.candles.length ? "" : labels.labelEmpty;
    root.dataset.loaded = data.timeframe;
  }

  function load(timeframe, refresh) {
    if (request) request.abort();
    request = new AbortController();
    root.dataset.timeframe = timeframe;
    if (!refresh) {
      delete root.dataset.loaded;
      statusLine.textContent = labels.labelLoading;
    }
    var url = root.dataset.candlesUrl + "?tf=" + encodeURIComponent(timeframe);
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", signal: request.signal })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (data) { render(data, refresh); })
      .catch(function (error) {
        if (error.name !== "AbortError") statusLine.textContent = labels.labelError;
      });
  }

  // --- Hover, click, keyboard -------------------------------------------------------------------

  function showTooltip(marker, point) {
    var kind = markerKind(marker);
    tooltip.replaceChildren(
      span("chart-tooltip-head", kind.label + " · @" + marker.author + " · " + when(marker.time)),
      document.createTextNode(marker.excerpt)
    );
    tooltip.hidden = false;
    var width = box.clientWidth;
    var left = Math.max(4, Math.min(point.x + 12, width - tooltip.offsetWidth - 4));
    var top = point.y + 16;
    if (top + tooltip.offsetHeight > box.clientHeight) top = Math.max(4, point.y - tooltip.offsetHeight - 12);
    tooltip.style.left = left + "px";
    tooltip.style.top = top + "px";
  }

  function hideTooltip() {
    tooltip.hidden = true;
  }

  function pointAt(marker) {
    var close = closeAt[marker.bar_time];
    if (close === undefined) return;
    chart.setCrosshairPosition(close, marker.bar_time, candleSeries);
    var x = chart.timeScale().timeToCoordinate(marker.bar_time);
    var y = candleSeries.priceToCoordinate(close);
    if (x !== null && y !== null) {
      showTooltip(marker, { x: x, y: y });
      // Where the pointed bar is drawn, in the chart's own pixels (the browser tests click there).
      box.dataset.pointedX = String(Math.round(x));
      box.dataset.pointedY = String(Math.round(y));
    }
  }

  function clearPoint() {
    chart.clearCrosshairPosition();
    hideTooltip();
  }

  chart.subscribeCrosshairMove(function (param) {
    var marker = param.hoveredObjectId !== undefined ? byId[param.hoveredObjectId] : undefined;
    if (marker && param.point) {
      showTooltip(marker, param.point);
      box.classList.add("chart-over-marker");
    } else if (param.sourceEvent || !param.point) {
      hideTooltip();
      box.classList.remove("chart-over-marker");
    }
  });

  chart.subscribeClick(function (param) {
    var marker = param.hoveredObjectId !== undefined ? byId[param.hoveredObjectId] : undefined;
    if (marker) window.location.assign(marker.url);
  });

  buttons.forEach(function (button) {
    button.addEventListener("click", function () {
      buttons.forEach(function (other) { other.setAttribute("aria-pressed", String(other === button)); });
      load(button.dataset.timeframe);
    });
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") clearPoint();
  });

  // --- Theme changes ------------------------------------------------------------------------------

  function applyTheme() {
    readColours();
    chart.applyOptions(chartOptions());
    candleSeries.applyOptions(candleOptions());
    volumeSeries.setData(volumeData());
    markerLayer.setMarkers(chartMarkers());
  }

  function applyThemeSoon() {
    // The new theme's tokens apply once styles recompute: read them on the next frame.
    window.requestAnimationFrame(applyTheme);
  }

  document.addEventListener("orbit:themechange", applyThemeSoon);
  // The theme switch (static/orbit.js) sets <html data-theme>; the system may switch too.
  new MutationObserver(applyThemeSoon).observe(document.documentElement, {
    attributes: true,
    attributeFilter: ["data-theme"],
  });
  if (window.matchMedia) {
    var scheme = window.matchMedia("(prefers-color-scheme: dark)");
    if (scheme.addEventListener) scheme.addEventListener("change", applyThemeSoon);
  }

  load(root.dataset.timeframe || "1h");

  // The newest bar moves with every poll of the market: fetch the shown timeframe again now and then
  // (the server caches candles for 30 s), while the page is in view.
  var REFRESH_MS = 60 * 1000;
  window.setInterval(function () {
    if (document.visibilityState === "visible") load(root.dataset.timeframe || "1h", true);
  }, REFRESH_MS);
})();
