import Foundation
import StatusReport

/// Text made safe for HTML, as an element's content or a quoted attribute's value.
func escaped(_ text: String) -> String {
    var result = ""
    result.reserveCapacity(text.utf8.count)
    for character in text.unicodeScalars {
        switch character {
        case "&": result += "&amp;"
        case "<": result += "&lt;"
        case ">": result += "&gt;"
        case "\"": result += "&quot;"
        case "'": result += "&#39;"
        default: result.unicodeScalars.append(character)
        }
    }
    return result
}

func escaped(_ text: String?) -> String { text.map { escaped($0) } ?? "–" }

/// A value for a link's query.
func queryValue(_ text: String) -> String {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~:,")
    return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
}

/// The console's pages, rendered on the server: every value read from Kafka goes through
/// `escaped`, and nothing runs but the one static script (live figures on the overview and
/// workers pages, `data-live` on the body).
enum ConsolePages {
    enum Tab: String, CaseIterable {
        case overview = "Overview", workers = "Workers", errors = "Errors", dlq = "DLQ", trace = "Trace"

        var path: String {
            switch self {
            case .overview: "/"
            case .workers: "/workers"
            case .errors: "/errors"
            case .dlq: "/dlq"
            case .trace: "/trace"
            }
        }
    }

    static func layout(_ title: String, tab: Tab?, csrf: String?, live: Bool = false, _ content: String) -> String {
        let navigation = Tab.allCases.map { item in
            "<a href=\"\(item.path)\"\(item == tab ? " class=\"current\" aria-current=\"page\"" : "")>\(item.rawValue)</a>"
        }.joined()
        let logout = csrf.map { csrf in
            """
            <form method="post" action="/logout" class="logout"><input type="hidden" name="csrf" value="\(escaped(csrf))">\
            <button type="submit">Log out</button></form>
            """
        } ?? ""
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escaped(title)) · payment-worker console</title>
            <link rel="stylesheet" href="/static/console.css"><script src="/static/console.js" defer></script></head>
            <body\(live ? " data-live=\"5\"" : "")><header><span class="brand">payment-worker</span>\
            <nav>\(tab == nil ? "" : navigation)</nav>\(logout)</header>
            <main id="live"><h1>\(escaped(title))</h1>
            \(content)
            </main></body></html>
            """
    }

    static func login(failed: Bool) -> String {
        layout("Log in", tab: nil, csrf: nil, """
            <form method="post" action="/login" class="login">
            \(failed ? "<p class=\"problem\" role=\"alert\">That is not the operator token.</p>" : "")
            <label for="token">Operator token</label>
            <input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
            <button type="submit">Log in</button>
            <p class="hint">The token is in the console's token file, or was printed by <code>ops/run.sh</code>.</p>
            </form>
            """)
    }

    // MARK: Overview

    static func overview(_ overview: Overview, csrf: String?) -> String {
        let stores = overview.stores.isEmpty ? "–" : overview.stores.map { store in
            "<span class=\"\(store.healthy ? "ok" : "bad")\">\(escaped(store.instanceId)): \(escaped(store.kind)) \(store.healthy ? "healthy" : "unhealthy" + (store.reason.map { " (\(escaped($0)))" } ?? ""))</span>"
        }.joined(separator: "<br>")
        let rates = overview.rates
        let figures = """
            <section class="figures">
            <div><span class="figure" id="workers-up">\(overview.workersUp)</span><span>workers up</span>\
            \(overview.workersGone > 0 ? "<small>\(overview.workersGone) gone</small>" : "")</div>
            <div><span class="figure" id="commands-rate">\(format(rates.commandsPerSecond.last ?? 0))</span><span>commands/s</span></div>
            <div><span class="figure" id="errors-rate">\(format(rates.errorsPerSecond.last ?? 0))</span><span>errors/s</span></div>
            <div><span class="figure" id="dlq-depth">\(overview.dlqDepth.map(String.init) ?? "?")</span><span>in the DLQ</span></div>
            <div class="stores"><span>store</span>\(stores)</div>
            </section>
            """
        let lagRows = overview.partitions.map { row in
            "<tr><td>\(escaped(row.topic))</td><td>\(row.partition)</td><td>\(escaped(row.instanceId))</td>"
                + "<td class=\"number\">\(row.lag.map(String.init) ?? "–")</td><td>\(row.paused ? "paused" : "")</td></tr>"
        }.joined()
        return layout("Overview", tab: .overview, csrf: csrf, live: true, """
            \(figures)
            <section><h2>Last 15 minutes</h2>\(chart(rates))</section>
            <section><h2>Lag by partition</h2>
            \(overview.partitions.isEmpty ? "<p>No worker holds a partition.</p>" : """
            <table><thead><tr><th>Topic</th><th>Partition</th><th>Worker</th><th>Lag</th><th></th></tr></thead><tbody>\(lagRows)</tbody></table>
            """)</section>
            """)
    }

    /// Commands and errors per second as an SVG line chart: drawn on the server, so it needs
    /// no script, and made of presentation attributes, which the content policy allows.
    static func chart(_ rates: Overview.Rates) -> String {
        let width = 720.0, height = 160.0
        let top = max(1, (rates.commandsPerSecond + rates.errorsPerSecond).max() ?? 1)
        func points(_ values: [Double]) -> String {
            let step = values.count > 1 ? width / Double(values.count - 1) : width
            return values.enumerated().map { index, value in
                String(format: "%.1f,%.1f", Double(index) * step, height - value / top * (height - 10))
            }.joined(separator: " ")
        }
        return """
            <svg class="chart" viewBox="-50 -10 \(Int(width) + 60) \(Int(height) + 40)" role="img" \
            aria-label="Commands and errors per second over the last 15 minutes">
            <line x1="0" y1="\(Int(height))" x2="\(Int(width))" y2="\(Int(height))" stroke="#999"/>
            <line x1="0" y1="0" x2="0" y2="\(Int(height))" stroke="#999"/>
            <text x="-6" y="14" text-anchor="end" font-size="12">\(format(top))/s</text>
            <text x="-6" y="\(Int(height))" text-anchor="end" font-size="12">0</text>
            <text x="0" y="\(Int(height) + 20)" font-size="12">15 min ago</text>
            <text x="\(Int(width))" y="\(Int(height) + 20)" text-anchor="end" font-size="12">now</text>
            <polyline fill="none" stroke="#2563eb" stroke-width="2" points="\(points(rates.commandsPerSecond))"/>
            <polyline fill="none" stroke="#dc2626" stroke-width="2" points="\(points(rates.errorsPerSecond))"/>
            </svg>
            <p class="legend"><span class="commands">commands/s</span> <span class="errors">errors/s</span> \
            (averaged over \(Int(rates.bucketSeconds)) s)</p>
            """
    }

    // MARK: Workers

    static func workers(_ workers: [WorkerBoard.Worker], now: Date, csrf: String?) -> String {
        guard !workers.isEmpty else {
            return layout("Workers", tab: .workers, csrf: csrf, live: true, "<p>No worker has reported in the last 15 minutes.</p>")
        }
        let sections = workers.map { worker in
            let report = worker.report
            let state = worker.gone ? "gone" : report.state.rawValue
            let partitions = report.partitions.map { partition in
                "<tr><td>\(escaped(partition.topic))</td><td>\(partition.partition)</td>"
                    + "<td class=\"number\">\(partition.position.map(String.init) ?? "–")</td>"
                    + "<td class=\"number\">\(partition.committed.map(String.init) ?? "–")</td>"
                    + "<td class=\"number\">\(partition.lag.map(String.init) ?? "–")</td>"
                    + "<td>\(partition.paused ? "paused" : "")</td><td class=\"number\">\(partition.inFlight)</td></tr>"
            }.joined()
            let commands = report.counters.commands.sorted { $0.key < $1.key }.map { command, statuses in
                escaped(command) + " " + statuses.sorted { $0.key < $1.key }.map { "\(escaped($0.key)) \($0.value)" }.joined(separator: ", ")
            }.joined(separator: "; ")
            let errors = report.counters.errorEvents.sorted { $0.key < $1.key }.map { "\(escaped($0.key)) \($0.value)" }.joined(separator: ", ")
            return """
                <section class="worker \(worker.gone ? "gone" : "up")" data-instance="\(escaped(report.instanceId))">
                <h2>\(escaped(report.instanceId)) <span class="state">\(escaped(state))</span></h2>
                <dl><dt>Host</dt><dd>\(escaped(report.host)) (pid \(report.pid))</dd><dt>Version</dt><dd>\(escaped(report.version))</dd>
                <dt>Started</dt><dd>\(escaped(report.startedAt))</dd><dt>Last report</dt><dd>\(Int(now.timeIntervalSince(worker.at))) s ago</dd>
                <dt>Store</dt><dd>\(escaped(report.store.kind)), \(report.store.healthy ? "healthy" : "unhealthy")\(report.store.reason.map { ": " + escaped($0) } ?? "")</dd>
                <dt>CPU</dt><dd>\(String(format: "%.1f", report.cpuSeconds)) s</dd><dt>Memory</dt><dd>\(report.residentBytes >> 20) MiB</dd>
                <dt>Commands</dt><dd>\(commands.isEmpty ? "none yet" : commands)</dd><dt>Error events</dt><dd>\(errors.isEmpty ? "none" : errors)</dd>
                <dt>DLQ copies</dt><dd>\(report.counters.dlqCopies)</dd><dt>Replays</dt><dd>\(report.counters.replays)</dd></dl>
                \(report.partitions.isEmpty ? "<p>No partitions.</p>" : """
                <table><thead><tr><th>Topic</th><th>Partition</th><th>Position</th><th>Committed</th><th>Lag</th><th></th><th>In flight</th></tr></thead>
                <tbody>\(partitions)</tbody></table>
                """)
                </section>
                """
        }.joined(separator: "\n")
        return layout("Workers", tab: .workers, csrf: csrf, live: true, sections)
    }

    // MARK: Errors

    static func errors(_ page: ConsoleReads.ErrorsPage, filter: ErrorFilter, csrf: String?) -> String {
        let rows = page.events.map { event in
            let source = event.source.map { "\(escaped($0.topic)) \($0.partition.map(String.init) ?? "?"):\($0.offset.map(String.init) ?? "?")" } ?? "–"
            let traceID = event.correlationId ?? event.idempotencyKey
            return "<tr><td>\(escaped(event.at ?? event.place.time))</td><td><code>\(escaped(event.code))</code></td>"
                + "<td>\(escaped(event.command))</td><td>\(escaped(event.apiid))</td><td>\(escaped(event.message))</td><td>\(source)</td>"
                + "<td>\(traceID.map { "<a href=\"/trace?id=\(queryValue($0))\">trace</a>" } ?? "")</td></tr>"
        }.joined()
        var older = ""
        if let next = page.next {
            var query = "before=\(queryValue(next))"
            if let code = filter.code { query += "&code=\(queryValue(code))" }
            if let command = filter.command { query += "&command=\(queryValue(command))" }
            if let apiid = filter.apiid { query += "&apiid=\(queryValue(apiid))" }
            older = "<p><a href=\"/errors?\(query)\" rel=\"next\">Older</a></p>"
        }
        return layout("Errors", tab: .errors, csrf: csrf, """
            <form method="get" action="/errors" class="filter">
            <label>Code <input name="code" value="\(escaped(filter.code ?? ""))"></label>
            <label>Command <input name="command" value="\(escaped(filter.command ?? ""))"></label>
            <label>apiid <input name="apiid" value="\(escaped(filter.apiid ?? ""))"></label>
            <button type="submit">Filter</button></form>
            \(page.events.isEmpty ? "<p>No error events \(filter.isEmpty ? "" : "match ")in the \(page.scanned) looked through.</p>" : """
            <table class="errors"><thead><tr><th>Time</th><th>Code</th><th>Command</th><th>apiid</th><th>Message</th><th>Source</th><th></th></tr></thead>
            <tbody>\(rows)</tbody></table>
            """)
            \(older)
            """)
    }

    // MARK: DLQ

    static func dlq(_ page: ConsoleReads.DLQPage, csrf: String?) -> String {
        let rows = page.messages.map { letter in
            let place = "\(letter.partition):\(letter.offset)"
            return "<tr><td><input type=\"checkbox\" name=\"m\" value=\"\(place)\" aria-label=\"select \(place)\"></td>"
                + "<td>\(escaped(letter.time))</td><td><a href=\"/dlq/\(letter.partition)/\(letter.offset)\">\(place)</a></td>"
                + "<td>\(escaped(letter.command))</td><td>\(escaped(letter.key))</td>"
                + "<td>\(letter.source.map { "\(escaped($0.topic)) \($0.partition.map(String.init) ?? "?"):\($0.offset.map(String.init) ?? "?")" } ?? "–")</td>"
                + "<td>\(escaped(letter.reason ?? "no error event found in the latest ones"))</td></tr>"
        }.joined()
        let older = page.next.map { "<p><a href=\"/dlq?before=\(queryValue($0))\" rel=\"next\">Older</a></p>" } ?? ""
        return layout("DLQ", tab: .dlq, csrf: csrf, """
            <p><span id="dlq-depth">\(page.depth)</span> message\(page.depth == 1 ? "" : "s") in the DLQ, newest first.</p>
            \(page.messages.isEmpty ? "<p>The DLQ is empty.</p>" : """
            <form method="get" action="/dlq/replay">
            <p><button type="submit">Replay selected…</button> <a class="button" href="/dlq/replay?all=1">Replay all…</a></p>
            <table class="dlq"><thead><tr><th></th><th>Time</th><th>Message</th><th>Command</th><th>Key</th><th>Source</th><th>Why</th></tr></thead>
            <tbody>\(rows)</tbody></table></form>
            """)
            \(older)
            """)
    }

    static func deadLetter(_ message: ShownMessage, record: DeadLetterRecord, csrf: String?) -> String {
        let place = "\(record.partition):\(record.offset)"
        return layout("DLQ message \(place)", tab: .dlq, csrf: csrf, """
            <dl><dt>Time</dt><dd>\(escaped(record.time))</dd><dt>Command</dt><dd>\(escaped(record.command))</dd>
            <dt>Why</dt><dd>\(escaped(record.reason ?? "no error event found in the latest ones"))</dd>
            <dt>Source</dt><dd>\(record.source.map { "\(escaped($0.topic)) \($0.partition.map(String.init) ?? "?"):\($0.offset.map(String.init) ?? "?")" } ?? "–")</dd></dl>
            \(shown(message))
            <p><a class="button" href="/dlq/replay?m=\(queryValue(place))">Replay…</a>
            \((record.correlationId ?? record.idempotencyKey).map { "<a href=\"/trace?id=\(queryValue($0))\">Trace</a>" } ?? "")</p>
            """)
    }

    static func confirmReplay(_ letters: [DeadLetterRecord], csrf: String?) -> String {
        let hidden = letters.map { "<input type=\"hidden\" name=\"m\" value=\"\($0.partition):\($0.offset)\">" }.joined()
        let rows = letters.map {
            "<tr><td>\($0.partition):\($0.offset)</td><td>\(escaped($0.command))</td><td>\(escaped($0.key))</td><td>\(escaped($0.reason ?? "–"))</td></tr>"
        }.joined()
        return layout("Replay \(letters.count) message\(letters.count == 1 ? "" : "s")?", tab: .dlq, csrf: csrf, """
            <p>Each goes back on the commands topic with its key, body and headers. It keeps its idempotency key: a command \
            already applied is answered <code>replayed</code> and applied no second time.</p>
            <table><thead><tr><th>Message</th><th>Command</th><th>Key</th><th>Why</th></tr></thead><tbody>\(rows)</tbody></table>
            <form method="post" action="/dlq/replay" class="confirm">\(hidden)<input type="hidden" name="csrf" value="\(escaped(csrf ?? ""))">
            <button type="submit" id="confirm-replay">Replay \(letters.count) message\(letters.count == 1 ? "" : "s")</button> <a href="/dlq">Cancel</a></form>
            """)
    }

    static func replayed(_ outcomes: [ReplayOutcome], csrf: String?) -> String {
        let rows = outcomes.map { outcome in
            let replyBody = outcome.reply.map { "<pre>\(escaped(String($0.body.prefix(2_000))))</pre>" } ?? ""
            let event = outcome.errorEvent.map { "<code>\(escaped($0.code))</code> \(escaped($0.message))" } ?? "–"
            return "<tr class=\"replay\"><td>\(outcome.partition):\(outcome.offset)</td><td>\(escaped(outcome.command))</td>"
                + "<td>\(outcome.replayedAs.map { "\(escaped($0.topic)) \($0.partition):\($0.offset)" } ?? "–")</td>"
                + "<td class=\"outcome\">\(escaped(outcome.outcome))</td><td>\(replyBody)</td><td>\(event)</td>"
                + "<td>\(outcome.dlqCopy.map { "<a href=\"/dlq/\($0.partition)/\($0.offset)\">\($0.partition):\($0.offset)</a>" } ?? "–")</td></tr>"
        }.joined()
        return layout("Replayed", tab: .dlq, csrf: csrf, """
            <table><thead><tr><th>Message</th><th>Command</th><th>Replayed as</th><th>Outcome</th><th>Reply</th><th>Error event</th><th>Back in the DLQ</th></tr></thead>
            <tbody>\(rows)</tbody></table><p><a href="/dlq">Back to the DLQ</a></p>
            """)
    }

    // MARK: Trace

    static func trace(_ trace: ConsoleReads.Trace?, id: String, csrf: String?) -> String {
        let form = """
            <form method="get" action="/trace" class="filter"><label>Correlation id or idempotency key \
            <input name="id" value="\(escaped(id))" required></label><button type="submit">Trace</button></form>
            """
        guard let trace else { return layout("Trace", tab: .trace, csrf: csrf, form) }
        func section(_ title: String, _ messages: [ShownMessage]) -> String {
            "<section><h2>\(title)</h2>" + (messages.isEmpty ? "<p>None found.</p>" : messages.map(shown).joined()) + "</section>"
        }
        let events = trace.errorEvents.isEmpty ? "<p>None found.</p>" : trace.errorEvents.map { event in
            "<p>\(escaped(event.place.topic)) \(event.place.partition):\(event.place.offset) at \(escaped(event.place.time)): "
                + "<code>\(escaped(event.code))</code> \(escaped(event.message))</p>"
        }.joined()
        return layout("Trace", tab: .trace, csrf: csrf, """
            \(form)
            <p>In the latest \(trace.window) messages of each partition.</p>
            \(section("Command", trace.commands))
            \(section("Reply", trace.replies))
            <section><h2>Error event</h2>\(events)</section>
            \(section("DLQ copy", trace.dlq))
            """)
    }

    /// A message's place, key, headers and body.
    static func shown(_ message: ShownMessage) -> String {
        let headers = message.headers.map { "<tr><th>\(escaped($0.name))</th><td>\(escaped($0.value))</td></tr>" }.joined()
        return """
            <article class="message"><p class="place">\(escaped(message.place.topic)) \(message.place.partition):\(message.place.offset) \
            at \(escaped(message.place.time))\(message.key.map { ", key " + escaped($0) } ?? "")</p>
            <table class="headers"><tbody>\(headers)</tbody></table>
            <pre class="body">\(escaped(message.body))\(message.bodyTruncated ? "\n…" : "")</pre></article>
            """
    }

    static func format(_ value: Double) -> String {
        value >= 100 ? String(format: "%.0f", value) : String(format: "%.1f", value)
    }
}
