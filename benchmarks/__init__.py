"""``vigil bench``: throughput, latency, replay time and memory of Vigil on a real broker, beside the limits
of the consumer library and of Faust itself, measured in one run on the same data."""
