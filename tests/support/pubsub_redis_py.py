"""redis-py pub/sub session for tests/pubsub_clients_test.ts.

Usage: /usr/bin/python3 pubsub_redis_py.py PORT

A subscriber thread runs pubsub().subscribe('news', 'alerts') and
psubscribe('user.*') and collects everything listen() yields; the main thread
publishes JSON documents, reads PUBSUB NUMSUB/NUMPAT/CHANNELS, INFO's pubsub
fields and CLIENT LIST's sub/psub counts of the subscriber, then prints one
JSON object with all of it on stdout. Exit code 2 when redis-py is missing.
"""

import json
import sys
import threading

try:
    import redis
except ImportError:
    print("redis-py is not installed")
    sys.exit(2)

port = int(sys.argv[1])
r = redis.Redis(host="127.0.0.1", port=port, decode_responses=True)
ps = r.pubsub()
ps.subscribe("news", "alerts")
ps.psubscribe("user.*")
confirmed = threading.Event()
received = []


def listen():
    confirmations = 0
    for m in ps.listen():
        received.append(m)
        if m["type"] in ("subscribe", "psubscribe"):
            confirmations += 1
            if confirmations == 3:
                confirmed.set()
        elif m["data"] == "STOP":
            break


thread = threading.Thread(target=listen, daemon=True)
thread.start()
if not confirmed.wait(5):
    print("subscriptions were not confirmed")
    sys.exit(1)

result = {
    "numsub": r.pubsub_numsub("news", "alerts", "none"),
    "numpat": r.pubsub_numpat(),
    "channels": sorted(r.pubsub_channels()),
}
info = r.info()
result["info"] = {k: info.get(k) for k in ("pubsub_channels", "pubsub_patterns", "pubsubshard_channels")}
result["client_list"] = [
    {"sub": c.get("sub"), "psub": c.get("psub"), "ssub": c.get("ssub"), "flags": c.get("flags")}
    for c in r.client_list()
    if c.get("sub") not in (None, "0") or c.get("psub") not in (None, "0")
]
docs = [{"n": i, "text": "h\u00e9llo \u2603", "tags": ["a", "b"]} for i in range(5)]
result["receivers"] = [r.publish("news", json.dumps(d, ensure_ascii=False)) for d in docs]
result["receivers"].append(r.publish("user.42", json.dumps({"user": 42})))
result["receivers"].append(r.publish("alerts", "STOP"))
thread.join(5)
result["received"] = received
ps.close()
r.close()
print(json.dumps(result))
