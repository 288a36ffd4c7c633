import Mustache

/// The dashboard's mustache templates, compiled into the module.
///
/// They are Swift strings rather than SwiftPM resource files on purpose: scimd installs as one
/// executable (`install -m755 .build/release/scimd /usr/local/bin/`), and a resource bundle left
/// behind would make `Bundle.module` trap at the first page. `{{x}}` escapes HTML; the one
/// unescaped `{{{chart}}}` is ``RequestChart``'s SVG, made of numbers only, so nothing an IdP sent
/// can become markup.
enum Templates {
    static func library() throws -> MustacheLibrary {
        var library = MustacheLibrary()
        for (name, text) in all { try library.register(text, named: name) }
        return library
    }

    static let all: [(String, String)] = [
        ("layout", layout), ("tabs", tabs), ("signin", signin), ("error", error), ("connections", connections),
        ("users", users), ("groups", groups), ("warnings", warnings), ("resource", resource), ("mapping", mapping),
        ("history", history), ("draft", draftFields), ("requests", requests), ("request", request), ("settings", settings), ("events", events),
    ]

    static let layout = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{$title}}scimd{{/title}} · scimd dashboard</title>
        <link rel="stylesheet" href="/static/dashboard.css">
        <link rel="icon" href="data:,">
        <script src="/static/live.js" defer></script>
        </head>
        <body>
        <a class="skip" href="#main">Skip to content</a>
        <header class="top">
          <a class="brand" href="/connections">scimd</a>
          {{#chrome}}
          <nav aria-label="Main"><a href="/connections">Connections</a></nav>
          <div class="who">
            <span>{{operatorName}} <span class="role">{{operatorRole}}</span></span>
            <form method="post" action="/signout" class="inline">
              <input type="hidden" name="_csrf" value="{{csrf}}">
              <button type="submit" class="link">Sign out</button>
            </form>
          </div>
          {{/chrome}}
        </header>
        <main id="main"{{#live}} data-live="{{live}}"{{/live}}>
        {{$body}}{{/body}}
        </main>
        </body>
        </html>
        """

    static let tabs = """
        {{#header}}
        <p class="crumbs"><a href="/connections">Connections</a> › <a href="{{base}}">{{name}}</a></p>
        <h1>{{name}}{{#disabled}} <span class="badge bad">disabled</span>{{/disabled}}</h1>
        <p class="sub">{{#customer}}Customer {{customer}} · {{/customer}}{{#idp}}{{idp}} · {{/idp}}<code>{{id}}</code></p>
        <nav class="tabs" aria-label="Connection">
          {{#tabs}}<a href="{{href}}"{{#current}} aria-current="page" class="current"{{/current}}>{{label}}{{#count}} <span class="count">{{count}}</span>{{/count}}</a>{{/tabs}}
        </nav>
        {{/header}}
        {{#notice}}<p class="notice" role="status">{{notice}}</p>{{/notice}}
        {{#problem}}<p class="problem" role="alert">{{problem}}</p>{{/problem}}
        """

    static let signin = """
        {{<layout}}{{$title}}Sign in{{/title}}{{$body}}
        <section class="narrow">
        <h1>Sign in</h1>
        {{#problem}}<p class="problem" role="alert">{{problem}}</p>{{/problem}}
        <form method="post" action="/signin">
          <input type="hidden" name="_csrf" value="{{csrf}}">
          <input type="hidden" name="next" value="{{next}}">
          <label for="name">Name</label>
          <input id="name" name="name" autocomplete="username" required value="{{name}}" autofocus>
          <label for="password">Password</label>
          <input id="password" name="password" type="password" autocomplete="current-password" required>
          <button type="submit">Sign in</button>
        </form>
        <p class="hint">An operator is created with <code>scimctl operators add NAME</code>, which prints the password once.</p>
        </section>
        {{/body}}{{/layout}}
        """

    static let error = """
        {{<layout}}{{$title}}{{heading}}{{/title}}{{$body}}
        <section class="narrow">
        <h1>{{heading}}</h1>
        <p class="problem" role="alert">{{message}}</p>
        <p><a href="{{back}}">Back</a></p>
        </section>
        {{/body}}{{/layout}}
        """

    static let connections = """
        {{<layout}}{{$title}}Connections{{/title}}{{$body}}
        <h1>SCIM connections</h1>
        {{^rows}}<p class="empty">No SCIM connections yet. Create one with <code>scimctl connections create NAME</code>.</p>{{/rows}}
        {{#hasRows}}
        <div class="scroll">
        <table>
          <thead><tr><th scope="col">Connection</th><th scope="col">Customer</th><th scope="col">IdP</th><th scope="col" class="num">Users active / all</th><th scope="col" class="num">Groups</th><th scope="col" class="num">Open warnings</th><th scope="col" class="num">Errors 24 h</th><th scope="col">Last request</th><th scope="col">Requests per hour, 7 days</th></tr></thead>
          <tbody>
          {{#rows}}
          <tr data-connection="{{name}}">
            <th scope="row"><a href="{{href}}">{{name}}</a>{{#disabled}} <span class="badge bad">disabled</span>{{/disabled}}</th>
            <td>{{customer}}</td><td>{{idp}}</td>
            <td class="num">{{activeUsers}} / {{users}}</td>
            <td class="num">{{groups}}</td>
            <td class="num">{{#hasWarnings}}<a class="warn" href="{{warningsHref}}">{{openWarnings}}</a>{{/hasWarnings}}{{^hasWarnings}}0{{/hasWarnings}}</td>
            <td class="num">{{errors24h}} of {{requests24h}}</td>
            <td>{{#lastRequestAt}}<time>{{lastRequestAt}}</time> <span class="status s{{lastRequestClass}}">{{lastRequestStatus}}</span>{{/lastRequestAt}}{{^lastRequestAt}}none{{/lastRequestAt}}</td>
            <td>{{{chart}}}</td>
          </tr>
          {{/rows}}
          </tbody>
        </table>
        </div>
        {{/hasRows}}
        {{/body}}{{/layout}}
        """

    static let users = """
        {{<layout}}{{$title}}Users · {{header.name}}{{/title}}{{$body}}
        {{>tabs}}
        <form method="get" class="filters" role="search">
          <label for="q">Search</label>
          <input id="q" name="q" value="{{q}}" placeholder="userName, email or externalId">
          <label for="status">Status</label>
          <select id="status" name="status">{{#statuses}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/statuses}}</select>
          <button type="submit">Filter</button>
        </form>
        {{^rows}}<p class="empty">No users match.</p>{{/rows}}
        {{#hasRows}}
        <div class="scroll">
        <table>
          <thead><tr><th scope="col">userName</th><th scope="col">Display name</th><th scope="col">externalId</th><th scope="col">Active</th><th scope="col" class="num">Warnings</th><th scope="col">Updated</th></tr></thead>
          <tbody>
          {{#rows}}<tr><th scope="row"><a href="{{href}}">{{userName}}</a></th><td>{{displayName}}</td><td><code>{{externalId}}</code></td><td>{{#active}}yes{{/active}}{{^active}}<span class="badge bad">no</span>{{/active}}</td><td class="num">{{#hasWarnings}}<span class="warn">{{warningCount}}</span>{{/hasWarnings}}{{^hasWarnings}}0{{/hasWarnings}}</td><td><time>{{updatedAt}}</time></td></tr>{{/rows}}
          </tbody>
        </table>
        </div>
        {{/hasRows}}
        {{#nextHref}}<p><a href="{{nextHref}}" rel="next">Next page</a></p>{{/nextHref}}
        {{/body}}{{/layout}}
        """

    static let groups = """
        {{<layout}}{{$title}}Groups · {{header.name}}{{/title}}{{$body}}
        {{>tabs}}
        <form method="get" class="filters" role="search">
          <label for="q">Search</label>
          <input id="q" name="q" value="{{q}}" placeholder="displayName or externalId">
          <button type="submit">Filter</button>
        </form>
        {{^rows}}<p class="empty">No groups match.</p>{{/rows}}
        {{#hasRows}}
        <div class="scroll">
        <table>
          <thead><tr><th scope="col">displayName</th><th scope="col">externalId</th><th scope="col" class="num">Members</th><th scope="col" class="num">Warnings</th><th scope="col">Updated</th></tr></thead>
          <tbody>
          {{#rows}}<tr><th scope="row"><a href="{{href}}">{{displayName}}</a></th><td><code>{{externalId}}</code></td><td class="num">{{memberCount}}</td><td class="num">{{warningCount}}</td><td><time>{{updatedAt}}</time></td></tr>{{/rows}}
          </tbody>
        </table>
        </div>
        {{/hasRows}}
        {{#nextHref}}<p><a href="{{nextHref}}" rel="next">Next page</a></p>{{/nextHref}}
        {{/body}}{{/layout}}
        """

    static let warnings = """
        {{<layout}}{{$title}}Users with warnings · {{header.name}}{{/title}}{{$body}}
        {{>tabs}}
        {{#hasByProperty}}
        <h2>By property</h2>
        <ul class="chips">{{#byProperty}}<li><a href="{{href}}">{{resourceType}} · {{property}}</a> <span class="count">{{count}}</span></li>{{/byProperty}}</ul>
        {{/hasByProperty}}
        {{#property}}<p>Showing warnings for <strong>{{property}}</strong> · <a href="{{allHref}}">all properties</a> · <a href="{{mappingHref}}">fix it in the mapping</a></p>{{/property}}
        {{^resources}}<p class="empty">No open warnings: every mapped property was found.</p>{{/resources}}
        {{#hasResources}}
        <div class="scroll">
        <table id="warned">
          <thead><tr><th scope="col">Resource</th><th scope="col">Property</th><th scope="col">What happened</th><th scope="col">Example request</th></tr></thead>
          <tbody>
          {{#resources}}{{#warnings}}<tr><th scope="row"><a href="{{href}}">{{name}}</a> <span class="muted">{{resourceType}}</span></th><td>{{property}}</td><td>{{detail}}</td><td>{{#exampleHref}}<a href="{{exampleHref}}">{{exampleLabel}}</a>{{/exampleHref}}</td></tr>{{/warnings}}{{/resources}}
          </tbody>
        </table>
        </div>
        {{/hasResources}}
        {{#nextHref}}<p><a href="{{nextHref}}" rel="next">Next page</a></p>{{/nextHref}}
        {{/body}}{{/layout}}
        """

    static let resource = """
        {{<layout}}{{$title}}{{name}} · {{header.name}}{{/title}}{{$body}}
        {{>tabs}}
        <h2 class="resource">{{resourceType}} <span id="resource-name">{{name}}</span></h2>
        <p class="sub"><code>{{id}}</code> · updated <time>{{updatedAt}}</time>{{#mappingVersion}} · mapped with version {{mappingVersion}}{{/mappingVersion}}{{#appUserId}} · application user <code>{{appUserId}}</code>{{/appUserId}}</p>
        <section aria-labelledby="mapped-h">
        <h3 id="mapped-h">Mapped properties</h3>
        <div class="scroll">
        <table id="trace">
          <thead><tr><th scope="col">Property</th><th scope="col">Value</th><th scope="col">How it was found</th></tr></thead>
          <tbody>
          {{#traces}}
          <tr data-property="{{property}}"{{#issue}} class="warned"{{/issue}}>
            <th scope="row">{{property}}{{#warnIfMissing}} <span class="muted" title="warn if missing">⚑</span>{{/warnIfMissing}}</th>
            <td>{{#value}}<code class="value">{{value}}</code>{{#usedDefault}} <span class="muted">(default)</span>{{/usedDefault}}{{/value}}{{^value}}<span class="muted">none</span>{{/value}}</td>
            <td><ol class="steps">{{#steps}}{{#skipped}}<li class="empty"><code>{{path}}</code> — not needed{{/skipped}}{{^skipped}}<li class="{{#matched}}matched{{/matched}}{{^matched}}{{#found}}unused{{/found}}{{^found}}empty{{/found}}{{/matched}}"><code>{{path}}</code> — {{#matched}}matched{{/matched}}{{^matched}}{{#found}}value not usable{{/found}}{{^found}}nothing there{{/found}}{{/matched}}{{#found}}: <code>{{found}}</code>{{/found}}{{/skipped}}</li>{{/steps}}</ol>
            {{#issue}}<p class="warn-detail">Warning: {{issue}}</p>{{/issue}}</td>
          </tr>
          {{/traces}}
          {{#roles}}<tr><th scope="row">roles</th><td><code>{{roles}}</code></td><td>from the connection's group → role rules</td></tr>{{/roles}}
          </tbody>
        </table>
        </div>
        </section>
        {{#hasWarnings}}
        <section aria-labelledby="warnings-h">
        <h3 id="warnings-h">Open warnings</h3>
        <ul class="plain">{{#warnings}}<li><strong>{{property}}</strong> ({{kind}}): {{detail}} · first seen <time>{{firstSeenAt}}</time>{{#exampleHref}} · <a href="{{exampleHref}}">example request: {{exampleLabel}}</a>{{/exampleHref}}</li>{{/warnings}}</ul>
        </section>
        {{/hasWarnings}}
        <section aria-labelledby="related-h">
        <h3 id="related-h">{{relatedHeading}} <span class="count">{{relatedCount}}</span></h3>
        {{^related}}<p class="empty">None.</p>{{/related}}
        <ul class="plain">{{#related}}<li>{{#href}}<a href="{{href}}">{{name}}</a>{{/href}}{{^href}}{{name}}{{/href}}{{#inactive}} <span class="badge bad">inactive</span>{{/inactive}}</li>{{/related}}</ul>
        </section>
        <section aria-labelledby="raw-h">
        <h3 id="raw-h">SCIM data as stored</h3>
        <pre id="raw"><code>{{raw}}</code></pre>
        </section>
        <section aria-labelledby="recent-h">
        <h3 id="recent-h">Last requests</h3>
        {{^recent}}<p class="empty">None logged.</p>{{/recent}}
        <ul class="plain">{{#recent}}<li><a href="{{href}}"><time>{{at}}</time> {{method}} {{path}}</a> <span class="status s{{statusClass}}">{{status}}</span></li>{{/recent}}</ul>
        </section>
        {{/body}}{{/layout}}
        """

    static let mapping = """
        {{<layout}}{{$title}}Mapping · {{header.name}}{{/title}}{{$body}}
        {{>tabs}}
        <nav class="subtabs" aria-label="Mapping">{{#kinds}}<a href="{{href}}"{{#current}} aria-current="page" class="current"{{/current}}>{{label}} mapping</a>{{/kinds}}<a href="{{historyHref}}">History</a></nav>
        {{#isDraft}}<p class="notice" role="status">Unsaved draft based on version {{baseVersion}}. Nothing changes until you save.</p>{{/isDraft}}
        {{^isDraft}}<p class="sub">Version {{baseVersion}}{{#changedBy}} · saved by {{changedBy}}{{/changedBy}}</p>{{/isDraft}}
        {{#preview}}
        <section aria-labelledby="preview-h" id="preview">
        <h2 id="preview-h">What saving would change</h2>
        <p>{{resourcesChanged}} of the connection's {{resources}} stored resources would change.</p>
        <ul class="plain">
          {{#lines}}<li>{{.}}</li>{{/lines}}
        </ul>
        {{#hasExamples}}<h3>Examples</h3><ul class="plain">{{#examples}}<li><a href="{{href}}">{{name}}</a>: {{text}}</li>{{/examples}}</ul>{{/hasExamples}}
        </section>
        {{/preview}}
        {{#diff}}<section aria-labelledby="diff-h"><h2 id="diff-h">Changes in this draft</h2><ul class="plain">{{#lines}}<li>{{.}}</li>{{/lines}}</ul></section>{{/diff}}
        {{#isDraft}}{{#canEdit}}
        <form method="post" action="{{saveAction}}" class="save">{{>draft}}
          <label for="comment">Comment for the history (optional)</label>
          <input id="comment" name="comment" maxlength="500">
          <button type="submit" class="primary">Save and re-map</button>
          <a href="{{discardHref}}">Discard draft</a>
        </form>
        {{/canEdit}}{{/isDraft}}
        <div class="scroll">
        <table id="mapping">
          <thead><tr><th scope="col">Property</th><th scope="col">Type</th><th scope="col">Path, then fallback paths</th><th scope="col">Default</th><th scope="col">Warn if missing</th>{{#canEdit}}<th scope="col"><span class="visually-hidden">Remove</span></th>{{/canEdit}}</tr></thead>
          <tbody>
          {{#properties}}
          <tr data-property="{{name}}">
            <th scope="row">{{name}}</th>
            <td>{{type}}</td>
            <td><ol class="paths"><li><code>{{path}}</code></li>{{#fallbacks}}<li><code>{{path}}</code>{{#canEdit}}
              <form method="post" action="{{editAction}}" class="inline">{{>draft}}<input type="hidden" name="action" value="removeFallbackPath"><input type="hidden" name="property" value="{{property}}"><input type="hidden" name="path" value="{{path}}"><button type="submit" class="link" aria-label="Remove fallback path {{path}} of {{property}}">remove</button></form>{{/canEdit}}</li>{{/fallbacks}}</ol>
              {{#canEdit}}<form method="post" action="{{editAction}}" class="add-fallback">{{>draft}}<input type="hidden" name="action" value="addFallbackPath"><input type="hidden" name="property" value="{{name}}">
                <label for="fallback-{{name}}">Add fallback path for {{name}}</label>
                <input id="fallback-{{name}}" name="path" required placeholder="e.g. department">
                <button type="submit">Add</button></form>{{/canEdit}}</td>
            <td>{{#defaultValue}}<code>{{defaultValue}}</code>{{/defaultValue}}</td>
            <td>{{#canEdit}}<form method="post" action="{{editAction}}" class="inline">{{>draft}}<input type="hidden" name="action" value="setWarnIfMissing"><input type="hidden" name="property" value="{{name}}"><input type="hidden" name="value" value="{{toggleValue}}"><button type="submit" class="switch" role="switch" aria-checked="{{warnIfMissing}}" aria-label="Warn if {{name}} is missing">{{#warnIfMissing}}On{{/warnIfMissing}}{{^warnIfMissing}}Off{{/warnIfMissing}}</button></form>{{/canEdit}}{{^canEdit}}{{#warnIfMissing}}On{{/warnIfMissing}}{{^warnIfMissing}}Off{{/warnIfMissing}}{{/canEdit}}</td>
            {{#canEdit}}<td><form method="post" action="{{editAction}}" class="inline">{{>draft}}<input type="hidden" name="action" value="removeProperty"><input type="hidden" name="property" value="{{name}}"><button type="submit" class="link danger" aria-label="Remove property {{name}}">remove</button></form></td>{{/canEdit}}
          </tr>
          {{/properties}}
          </tbody>
        </table>
        </div>
        {{#canEdit}}
        <details class="add-property"><summary>Add a property</summary>
        <form method="post" action="{{editAction}}">{{>draft}}<input type="hidden" name="action" value="addProperty">
          <label for="new-name">Name</label><input id="new-name" name="name" required>
          <label for="new-type">Type</label><select id="new-type" name="type">{{#typeNames}}<option>{{.}}</option>{{/typeNames}}</select>
          <label for="new-path">Path</label><input id="new-path" name="path" required>
          <label class="check"><input type="checkbox" name="warnIfMissing" value="true"> Warn if missing</label>
          <button type="submit">Add property</button>
        </form></details>
        {{/canEdit}}
        {{#hasWarned}}
        <section aria-labelledby="warned-h">
        <h2 id="warned-h">Properties with open warnings</h2>
        <ul class="plain">{{#warned}}<li><strong>{{property}}</strong>: {{count}} open · <a href="{{suggestHref}}">find where the data is</a></li>{{/warned}}</ul>
        </section>
        {{/hasWarned}}
        {{#hasSuggestions}}
        <section aria-labelledby="suggest-h">
        <h2 id="suggest-h">Suggested fallback paths</h2>
        <p class="sub">Paths where the resources with warnings do hold a value.</p>
        <ul class="plain">{{#suggestions}}<li><strong>{{property}}</strong>: <code>{{path}}</code> would fix {{resourcesFixed}} of {{warned}}{{#example}} (for example <code>{{example}}</code>){{/example}}
          {{#canEdit}}<form method="post" action="{{editAction}}" class="inline">{{>draft}}<input type="hidden" name="action" value="addFallbackPath"><input type="hidden" name="property" value="{{property}}"><input type="hidden" name="path" value="{{path}}"><button type="submit">Add {{path}} as a fallback path of {{property}}</button></form>{{/canEdit}}</li>{{/suggestions}}</ul>
        </section>
        {{/hasSuggestions}}
        {{/body}}{{/layout}}
        """

    /// Hidden fields every editor form carries: the CSRF token, the draft and its base version.
    static let draftFields = """
        <input type="hidden" name="_csrf" value="{{csrfToken}}"><input type="hidden" name="kind" value="{{kind}}"><input type="hidden" name="baseVersion" value="{{baseVersion}}"><input type="hidden" name="draft" value="{{draft}}">
        """

    static let history = """
        {{<layout}}{{$title}}Mapping history · {{header.name}}{{/title}}{{$body}}
        {{>tabs}}
        <h2>Mapping history</h2>
        <ol class="history" reversed>
        {{#versions}}
        <li id="v{{version}}"><h3>Version {{version}}{{#current}} <span class="badge">current</span>{{/current}}</h3>
          <p class="sub"><time>{{createdAt}}</time>{{#changedBy}} · by {{changedBy}}{{/changedBy}}{{#comment}} · “{{comment}}”{{/comment}}</p>
          {{#hasLines}}<ul class="plain">{{#lines}}<li>{{.}}</li>{{/lines}}</ul>{{/hasLines}}
          {{#canRollback}}<form method="post" action="{{rollbackAction}}" class="inline"><input type="hidden" name="_csrf" value="{{csrfToken}}"><input type="hidden" name="version" value="{{version}}"><button type="submit">Roll back to version {{version}}</button></form>{{/canRollback}}
        </li>
        {{/versions}}
        </ol>
        {{/body}}{{/layout}}
        """

    static let requests = """
        {{<layout}}{{$title}}Requests · {{header.name}}{{/title}}{{$body}}
        {{>tabs}}
        <form method="get" class="filters">
          <label for="status">Status</label>
          <select id="status" name="status">{{#statuses}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/statuses}}</select>
          <label for="method">Method</label>
          <select id="method" name="method">{{#methods}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/methods}}</select>
          <label for="resourceType">Resource</label>
          <select id="resourceType" name="resourceType">{{#resourceTypes}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/resourceTypes}}</select>
          <label for="from">From (UTC)</label>
          <input id="from" name="from" type="datetime-local" value="{{from}}">
          <label for="until">Until (UTC)</label>
          <input id="until" name="until" type="datetime-local" value="{{until}}">
          <button type="submit">Filter</button>
        </form>
        {{^rows}}<p class="empty">No requests match.</p>{{/rows}}
        {{#hasRows}}
        <div class="scroll">
        <table>
          <thead><tr><th scope="col">Time</th><th scope="col">Request</th><th scope="col">Status</th><th scope="col" class="num">ms</th><th scope="col">Error</th></tr></thead>
          <tbody>
          {{#rows}}<tr><td><time>{{at}}</time></td><th scope="row"><a href="{{href}}">{{method}} {{path}}</a></th><td><span class="status s{{statusClass}}">{{status}}</span></td><td class="num">{{milliseconds}}</td><td>{{error}}</td></tr>{{/rows}}
          </tbody>
        </table>
        </div>
        {{/hasRows}}
        {{#nextHref}}<p><a href="{{nextHref}}" rel="next">Older requests</a></p>{{/nextHref}}
        {{/body}}{{/layout}}
        """

    static let request = """
        {{<layout}}{{$title}}Request {{id}} · {{header.name}}{{/title}}{{$body}}
        {{>tabs}}
        <h2>{{method}} {{path}} <span class="status s{{statusClass}}">{{status}}</span></h2>
        <p class="sub"><time>{{at}}</time> · {{milliseconds}} ms{{#resourceHref}} · <a href="{{resourceHref}}">the resource</a>{{/resourceHref}}{{#requestId}} · request id <code>{{requestId}}</code>{{/requestId}}</p>
        {{#error}}<p class="problem">{{error}}</p>{{/error}}
        {{#canEdit}}<form method="post" action="{{replayAction}}" class="inline"><input type="hidden" name="_csrf" value="{{csrfToken}}"><button type="submit">Replay this request</button></form>
        <p class="hint">Replaying sends it through the engine again, as the IdP sent it (secrets were never logged).</p>{{/canEdit}}
        <h3>Request headers</h3>
        <table class="kv">{{#headers}}<tr><th scope="row">{{name}}</th><td><code>{{value}}</code></td></tr>{{/headers}}</table>
        <h3>Request body</h3>
        {{#requestBody}}<pre><code>{{requestBody}}</code></pre>{{/requestBody}}{{^requestBody}}<p class="empty">None.</p>{{/requestBody}}
        <h3>Response body</h3>
        {{#responseBody}}<pre><code>{{responseBody}}</code></pre>{{/responseBody}}{{^responseBody}}<p class="empty">None.</p>{{/responseBody}}
        {{/body}}{{/layout}}
        """

    static let settings = """
        {{<layout}}{{$title}}Settings · {{header.name}}{{/title}}{{$body}}
        {{>tabs}}
        <table class="kv">
          <tr><th scope="row">SSO matching</th><td>{{sso}}</td></tr>
          <tr><th scope="row">Email domains</th><td>{{domains}}</td></tr>
          <tr><th scope="row">Confirm mode</th><td>{{#confirmMode}}on (changes wait {{commitTimeoutSeconds}} s for scim.commit){{/confirmMode}}{{^confirmMode}}off{{/confirmMode}}</td></tr>
          <tr><th scope="row">Status</th><td>{{#disabled}}disabled: the IdP's token is refused{{/disabled}}{{^disabled}}enabled{{/disabled}}</td></tr>
          {{#previousTokenExpiresAt}}<tr><th scope="row">Previous token</th><td>works until <time>{{previousTokenExpiresAt}}</time></td></tr>{{/previousTokenExpiresAt}}
          <tr><th scope="row">Created</th><td><time>{{createdAt}}</time></td></tr>
        </table>
        {{#newToken}}
        <section class="notice" role="status" aria-labelledby="token-h">
        <h2 id="token-h">The new bearer token</h2>
        <p>Give it to the IdP now: it is shown only this once (scimd keeps only its hash).</p>
        <pre><code id="new-token">{{newToken}}</code></pre>
        </section>
        {{/newToken}}
        {{#canEdit}}
        <h2>Rotate the bearer token</h2>
        <form method="post" action="{{rotateAction}}" class="filters">
          <input type="hidden" name="_csrf" value="{{csrfToken}}">
          <label for="overlap">The current token</label>
          <select id="overlap" name="overlapSeconds">{{#overlaps}}<option value="{{seconds}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/overlaps}}</select>
          <button type="submit">Rotate the token</button>
        </form>
        <h2>SSO matching and confirm mode</h2>
        <form method="post" action="{{action}}" class="filters">
          <input type="hidden" name="_csrf" value="{{csrfToken}}">
          <label for="sso">Match SSO logins by</label>
          <select id="sso" name="sso">{{#ssoKinds}}<option{{#selected}} selected{{/selected}}>{{value}}</option>{{/ssoKinds}}</select>
          <label for="sso-claim">Claim (claim_property)</label>
          <input id="sso-claim" name="claim" value="{{ssoClaim}}">
          <label for="sso-property">Mapped property (claim_property)</label>
          <input id="sso-property" name="property" value="{{ssoProperty}}">
          <label class="check"><input type="checkbox" name="confirmMode" value="true"{{#confirmMode}} checked{{/confirmMode}}> Confirm mode (the application confirms each lifecycle change)</label>
          <button type="submit">Save</button>
        </form>
        <h2>Provisioning</h2>
        <form method="post" action="{{action}}">
          <input type="hidden" name="_csrf" value="{{csrfToken}}">
          <input type="hidden" name="disabled" value="{{toggleDisabled}}">
          <button type="submit" class="{{#disabled}}primary{{/disabled}}{{^disabled}}danger{{/disabled}}">{{#disabled}}Enable the connection{{/disabled}}{{^disabled}}Disable the connection{{/disabled}}</button>
        </form>
        {{/canEdit}}
        {{/body}}{{/layout}}
        """

    static let events = """
        {{<layout}}{{$title}}Events · {{header.name}}{{/title}}{{$body}}
        {{>tabs}}
        {{^rows}}<p class="empty">No events yet.</p>{{/rows}}
        {{#hasRows}}
        <div class="scroll">
        <table>
          <thead><tr><th scope="col">#</th><th scope="col">Time</th><th scope="col">Type</th><th scope="col">Resource</th><th scope="col">Data</th></tr></thead>
          <tbody>
          {{#rows}}<tr><td class="num">{{sequence}}</td><td><time>{{at}}</time></td><td>{{type}}</td><td>{{#href}}<a href="{{href}}">{{resource}}</a>{{/href}}</td><td><code>{{data}}</code></td></tr>{{/rows}}
          </tbody>
        </table>
        </div>
        {{/hasRows}}
        {{#nextHref}}<p><a href="{{nextHref}}" rel="next">Newer events</a></p>{{/nextHref}}
        {{/body}}{{/layout}}
        """
}
