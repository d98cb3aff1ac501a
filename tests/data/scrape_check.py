"""Scrapes a txova metrics endpoint over HTTP and checks it with prometheus_client's text parser
(Debian python3-prometheus-client): the metrics the unit test produced, and the health paths.
Usage: scrape_check.py http://127.0.0.1:PORT"""
import sys
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

base = sys.argv[1]
text = urllib.request.urlopen(base + "/metrics", timeout=10).read().decode()
families = {f.name: f for f in text_string_to_metric_families(text)}

sent = families["messaging_client_sent_messages"]
assert sent.type == "counter", sent.type
ok = [s.value for s in sent.samples
      if s.name == "messaging_client_sent_messages_total"
      and s.labels.get("messaging_destination_name") == "txova.rides.v1" and "error_type" not in s.labels]
failed = [s.value for s in sent.samples if s.labels.get("error_type") == "TOPIC_AUTHORIZATION_FAILED"]
assert ok == [2.0], ("sent", ok)
assert failed == [1.0], ("failed", failed)

duration = families["messaging_client_operation_duration_seconds"]
assert duration.type == "histogram", duration.type
counts = [s.value for s in duration.samples if s.name.endswith("_count") and "error_type" not in s.labels]
buckets = [s.labels["le"] for s in duration.samples if s.name.endswith("_bucket") and "error_type" not in s.labels]
assert counts == [2.0], ("count", counts)
assert buckets[0] == "0.005" and buckets[-1] == "+Inf", buckets

assert urllib.request.urlopen(base + "/health/live", timeout=10).status == 200
try:
    urllib.request.urlopen(base + "/health/ready", timeout=10)
    sys.exit("/health/ready answered 200 while a check fails")
except urllib.error.HTTPError as e:
    body = e.read().decode()
    assert e.code == 503 and "producer: not yet connected" in body, (e.code, body)
try:
    urllib.request.urlopen(base + "/nothing", timeout=10)
    sys.exit("/nothing answered 200")
except urllib.error.HTTPError as e:
    assert e.code == 404, e.code
print("scrape ok:", len(families), "families")
