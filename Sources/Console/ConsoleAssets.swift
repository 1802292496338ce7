/// The console's one stylesheet and one script, served from the binary: no build step, and
/// nothing fetched from elsewhere.
enum ConsoleAssets {
    static let stylesheet = """
        :root { font-family: system-ui, sans-serif; color: #111827; background: #f9fafb; }
        body { margin: 0; }
        header { display: flex; align-items: center; gap: 1.5rem; padding: .6rem 1.2rem; background: #1f2937; color: #fff; }
        header .brand { font-weight: 600; }
        header nav a { color: #d1d5db; text-decoration: none; margin-right: 1rem; }
        header nav a.current { color: #fff; border-bottom: 2px solid #60a5fa; }
        header .logout { margin-left: auto; }
        main { padding: 1rem 1.5rem; max-width: 90rem; }
        h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 1.5rem; }
        table { border-collapse: collapse; width: 100%; background: #fff; font-size: .9rem; }
        th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid #e5e7eb; vertical-align: top; }
        td.number { text-align: right; font-variant-numeric: tabular-nums; }
        .figures { display: flex; gap: 1rem; flex-wrap: wrap; }
        .figures > div { background: #fff; border: 1px solid #e5e7eb; border-radius: .5rem; padding: .8rem 1rem; min-width: 8rem; display: flex; flex-direction: column; }
        .figure { font-size: 1.8rem; font-weight: 600; }
        .ok { color: #15803d; } .bad, .problem { color: #b91c1c; }
        .chart { width: 100%; max-width: 52rem; background: #fff; border: 1px solid #e5e7eb; border-radius: .5rem; }
        .legend .commands { color: #2563eb; } .legend .errors { color: #dc2626; }
        .worker { background: #fff; border: 1px solid #e5e7eb; border-radius: .5rem; padding: .5rem 1rem 1rem; margin-bottom: 1rem; }
        .worker.gone { opacity: .6; }
        .worker .state { font-size: .85rem; font-weight: normal; padding: .1rem .5rem; border-radius: 1rem; background: #e5e7eb; }
        dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
        dt { color: #6b7280; } dd { margin: 0; }
        pre { background: #f3f4f6; padding: .5rem; overflow-x: auto; white-space: pre-wrap; word-break: break-all; max-height: 30rem; }
        form.filter, form.login { display: flex; gap: .8rem; align-items: end; flex-wrap: wrap; margin-bottom: 1rem; }
        form.login { flex-direction: column; align-items: start; max-width: 24rem; }
        input { padding: .3rem .4rem; }
        button, a.button { padding: .35rem .8rem; border: 1px solid #2563eb; background: #2563eb; color: #fff; border-radius: .3rem; text-decoration: none; cursor: pointer; font-size: .9rem; }
        header button { background: transparent; border-color: #9ca3af; }
        .hint { color: #6b7280; font-size: .85rem; }
        """

    /// Live figures: on a page marked `data-live`, fetches the page again every few seconds
    /// and swaps in its `main`, parsed as an inert document (nothing in it runs). Stops when
    /// the session has ended (the fetch lands on the login form).
    static let script = """
        "use strict";
        (function () {
          var seconds = Number(document.body.getAttribute("data-live"));
          if (!seconds) { return; }
          function refresh() {
            fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
              .then(function (response) {
                if (!response.ok || response.redirected) { throw new Error("stopped"); }
                return response.text();
              })
              .then(function (text) {
                var next = new DOMParser().parseFromString(text, "text/html").getElementById("live");
                var current = document.getElementById("live");
                if (next && current) { current.replaceWith(document.importNode(next, true)); }
                window.setTimeout(refresh, seconds * 1000);
              })
              .catch(function () { document.body.setAttribute("data-live-stopped", "true"); });
          }
          window.setTimeout(refresh, seconds * 1000);
        })();
        """
}
