"""Seeds a fuzz target's corpus from the IdP fixtures (filters, PATCH paths and bodies, requests)."""
import glob, hashlib, json, os, sys, urllib.parse

target, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
seeds = set()
for path in glob.glob(os.path.join(os.path.dirname(__file__), "..", "Tests", "SCIMDServiceTests", "Fixtures", "idp", "*.json")):
    scenario = json.load(open(path))
    for step in scenario["steps"]:
        req = step["request"]
        body = req.get("body")
        query = urllib.parse.urlsplit(req["path"]).query
        for key, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
            if key == "filter" and target == "FilterParser":
                seeds.add(value)
        if isinstance(body, dict) and "Operations" in body:
            if target == "PatchEngine":
                seeds.add(json.dumps(body))
            for op in body["Operations"]:
                if target == "AttributePath" and isinstance(op.get("path"), str):
                    seeds.add(op["path"])
        if target == "JSONRPCMessage":
            seeds.add(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "scim.handle",
                                  "params": {"method": req["method"], "path": req["path"], "body": json.dumps(body) if body else None}}))
for seed in seeds:
    name = hashlib.sha1(seed.encode()).hexdigest()
    with open(os.path.join(out, name), "w") as f:
        f.write(seed)
