"""Seeds a fuzz target's corpus from the IdP fixtures: filters, PATCH paths and bodies, JSON-RPC
lines, scim.handle params and results, raw HTTP requests, resources with mappings.

    python3 Fuzz/make-corpus.py TARGET OUT_DIRECTORY

The seeds only start a corpus: `scripts/fuzz --minimize TARGET` merges them with what the fuzzer
found into the committed Fuzz/corpus/TARGET (libFuzzer -merge=1)."""
import glob, hashlib, json, os, sys, urllib.parse

target, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
here = os.path.dirname(os.path.abspath(__file__))
seeds = set()


def compact(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def chunked(payload, limit, sizes):
    """The stream targets' layout (Fuzz/Targets/ChunkedInput.swift): limit byte, size count, sizes, payload."""
    return bytes([limit, len(sizes)] + [s - 1 for s in sizes]) + payload


def http_request(method, path, headers, body):
    lines = [f"{method} /scim/v2{urllib.parse.quote(path, safe='/?&=%:')} HTTP/1.1", "Host: scim.example.com",
             "Authorization: Bearer t0ken"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    data = body.encode() if body is not None else b""
    if body is not None:
        lines.append(f"Content-Length: {len(data)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


# Mappings that use every property type, for MappingEvaluation.
TYPED_MAPPING = {"properties": [
    {"name": "department", "type": "string", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
     "fallbackPaths": ["department"], "warnIfMissing": True},
    {"name": "seats", "type": "integer", "path": "seats", "default": 1},
    {"name": "score", "type": "number", "path": "score"},
    {"name": "active", "type": "boolean", "path": "active", "default": True},
    {"name": "hired", "type": "date", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:hireDate"},
    {"name": "created", "type": "dateTime", "path": "meta.created", "fallbackPaths": ["lastModified"]},
    {"name": "color", "type": "enum", "options": ["red", "Green", "blue"], "path": "favoriteColor", "default": "red"},
    {"name": "emails", "type": "list", "of": "string", "path": "emails.value"},
    {"name": "roles", "type": "list", "of": {"type": "enum", "options": ["admin", "member"]}, "path": "roles.value"},
    {"name": "workEmail", "type": "string", "path": "emails[type eq \"work\"].value", "fallbackPaths": ["emails.value"]},
]}
DEFAULT_LIKE = {"users": {"properties": [{"name": "userName", "type": "string", "path": "userName", "warnIfMissing": True}]},
                "groups": {"properties": [{"name": "displayName", "type": "string", "path": "displayName"},
                                          {"name": "members", "type": "list", "of": "string", "path": "members.value"}]}}
OTHER_METHODS = [
    ("system.health", None), ("connections.create", {"name": "Acme", "idp": "Okta"}),
    ("connections.update", {"id": "Acme", "domains": ["example.com"], "sso": {"kind": "claim_property", "claim": "upn", "property": "email"}}),
    ("connections.rotateToken", {"id": "Acme", "overlapSeconds": 3600}),
    ("mapping.set", {"connection": "Acme", "mapping": {"users": TYPED_MAPPING, "groups": DEFAULT_LIKE["groups"]}, "expectedVersion": 2}),
    ("mapping.suggest", {"connection": "Acme", "property": "group"}),
    ("sso.resolve", {"connection": "Acme", "claims": {"sub": "00u1", "email": "ada@example.com"}}),
    ("events.list", {"after": 120, "connection": "Acme", "types": ["user.*"], "limit": 10}),
    ("users.list", {"connection": "Acme", "withWarnings": True, "limit": 5}),
    ("scim.commit", {"commitId": "c1", "appUserId": "app-7"}), ("scim.reject", {"commitId": "c1", "reason": "no seat"}),
]

for path in sorted(glob.glob(os.path.join(here, "..", "Tests", "SCIMDServiceTests", "Fixtures", "idp", "*.json"))):
    scenario = json.load(open(path))
    requests = []
    for step in scenario["steps"]:
        req = step["request"]
        body = req.get("body")
        raw = req.get("rawBody") if "rawBody" in req else (compact(body) if body is not None else None)
        requests.append((req["method"], req["path"], req.get("headers") or {}, raw))
        query = urllib.parse.urlsplit(req["path"]).query
        for key, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
            if key == "filter" and target == "FilterParser":
                seeds.add(value.encode())
        if isinstance(body, dict) and "Operations" in body:
            if target == "PatchEngine":
                seeds.add(compact(body).encode())
            for op in body["Operations"]:
                if target == "AttributePath" and isinstance(op.get("path"), str):
                    seeds.add(op["path"].encode())
        params = {"method": req["method"], "path": req["path"], "headers": {"Authorization": "Bearer t0ken", **(req.get("headers") or {})}}
        if raw is not None:
            params["body"] = raw
        if target == "JSONRPCMessage":
            seeds.add(compact({"jsonrpc": "2.0", "id": 1, "method": "scim.handle", "params": params}).encode())
        if target == "RPCParams":
            seeds.add(compact(params).encode())
            expect = step.get("expect", {})
            result = {"status": expect.get("status", 200), "headers": {"Content-Type": "application/scim+json"},
                      "body": compact(expect["body"]) if "body" in expect else None,
                      "changes": [{"resourceType": "User", "id": "u1", "change": "created", "connection": "c1", "version": 'W/"1"',
                                   "mapped": {"userName": "a@example.com", "active": True}, "warningsOpened": ["email"]}]}
            seeds.add(compact(result).encode())
        if target == "MappingEvaluation" and isinstance(body, dict) and "Operations" not in body:
            seeds.add(compact({"resource": body}).encode())
            seeds.add(compact({"resource": body, "mapping": TYPED_MAPPING}).encode())
            seeds.add(compact({"resource": body, "mapping": DEFAULT_LIKE}).encode())
    if target == "LineFraming":
        lines = [compact({"jsonrpc": "2.0", "id": i, "method": "scim.handle", "params": {"method": m, "path": p}}).encode()
                 for i, (m, p, _, _) in enumerate(requests[:4])]
        seeds.add(chunked(b"\n".join(lines) + b"\n", 6, [7, 100, 3]))
        seeds.add(chunked(b"\r\n".join(lines), 5, [1, 1, 64]))
        seeds.add(chunked(lines[0] + b"\n" + lines[-1], 3, [5]))
    if target == "HTTPRequestAssembly":
        stream = b"".join(http_request(*r) for r in requests[:3])
        seeds.add(chunked(stream, 4, [40, 200, 13]))
        for method, p, headers, raw in requests[:4]:
            seeds.add(chunked(http_request(method, p, headers, raw), 3, [10, 90]))
            if raw is not None:
                data = raw.encode()
                chunks = b"".join(b"%x\r\n%s\r\n" % (len(data[i:i + 50]), data[i:i + 50]) for i in range(0, len(data), 50)) + b"0\r\n\r\n"
                head = http_request(method, p, {**headers, "Transfer-Encoding": "chunked", "Expect": "100-continue"}, None)
                seeds.add(chunked(head + chunks, 2, [30, 7]))

if target == "JSONRPCMessage":
    for i, (method, params) in enumerate(OTHER_METHODS):
        message = {"jsonrpc": "2.0", "id": i, "method": method}
        if params is not None:
            message["params"] = params
        seeds.add(compact(message).encode())
    seeds.add(compact([{"jsonrpc": "2.0", "id": 1, "method": "system.health"}, {"jsonrpc": "2.0", "method": "events.list", "params": {}}]).encode())
if target == "MappingEvaluation":
    seeds.add(compact({"resource": {"userName": "a", "seats": "5", "score": "-1.5e3", "favoriteColor": " GREEN ",
                                    "meta": {"created": "2024-03-01T23:30:00.1200000-05:00"}, "roles": [{"value": "Admin"}, {"value": "x"}],
                                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"hireDate": "2024-02-29", "department": "R&D"}},
                       "mapping": TYPED_MAPPING}).encode())

for seed in seeds:
    with open(os.path.join(out, "seed-" + hashlib.sha1(seed).hexdigest()), "wb") as f:
        f.write(seed)
print(f"{target}: {len(seeds)} seeds in {out}", file=sys.stderr)
