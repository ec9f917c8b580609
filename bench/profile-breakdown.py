#!/usr/bin/env python3
"""Where a function's on-CPU samples go, by component, from `perf script -F ip,sym`
of a frame-pointer build (scripts/profile). Reads the samples on standard input.

Each sample goes to one component by the frames on its stack (see component()):
a SigV4 signature made inside the SDK's orchestrator counts as the SDK, not as
hashing, and a write inside hyper's connection task as that task. The kernel
column is the share of those samples whose innermost frame is in the kernel
(syscalls, loopback TCP, page faults, context switches)."""

import sys
from collections import Counter

CONNECTIONS = "HTTP connection tasks (hyper: write, read, parse, their syscalls)"
WAITING = "waiting for I/O (epoll_wait, context switches)"
SDK = "AWS SDK (builders, orchestrator, SigV4, interceptors, parsing)"
GITHUB = "GitHub requests (reqwest)"
LOGGING = "logging (tracing's JSON lines)"
HANDLER = "broker handler (verify, parse, domain, store items)"
DECODING = "Lambda event decoding (into aws_lambda_events)"
RUNTIME = "Lambda runtime loop (next, response, span, trace id)"
OTHER = "other (init, allocator bookkeeping, unknown frames)"
ORDER = [SDK, GITHUB, CONNECTIONS, WAITING, LOGGING, HANDLER, DECODING, RUNTIME, OTHER]
SDK_FRAMES = ("aws_smithy_runtime::", "aws_sdk_", "aws_sigv4::", "aws_runtime::")


def samples(lines):
    """Yields each sample's frames, innermost first, as (ip, symbol)."""
    frames = []
    for line in lines:
        line = line.strip()
        if not line:
            if frames:
                yield frames
            frames = []
            continue
        ip, _, sym = line.partition(" ")
        frames.append((ip, sym))
    if frames:
        yield frames


def in_kernel(ip):
    try:
        return int(ip, 16) >= 0xFFFF800000000000
    except ValueError:
        return False


def component(frames):
    """The component a sample's stack (innermost frame first) belongs to. Spawned
    tasks (hyper's connections) and the scheduler's park come first: the SDK's
    orchestrator and the handler run in the main future, never inside them."""
    syms = [sym for _, sym in frames]

    def has(*patterns):
        return any(p in sym for sym in syms for p in patterns)

    if has("tokio::runtime::task::raw::poll"):
        return CONNECTIONS
    if has("current_thread::Context::park"):
        return WAITING
    if has(*SDK_FRAMES):
        return SDK
    if has("reqwest::"):
        return GITHUB
    if has("tracing_subscriber::"):
        return LOGGING
    ours = [i for i, sym in enumerate(syms) if "broker::" in sym]
    if ours:
        inner = min(ours)
        # The SDK's `invoke` future, instrumented and inlined into our caller.
        if inner > 0 and "tracing::instrument::Instrumented" in syms[inner - 1]:
            return SDK
        return HANDLER
    if has("serde_json::de::Deserializer"):
        return DECODING
    if has("lambda_runtime::"):
        return RUNTIME
    return OTHER


def main():
    total = Counter()
    kernel = Counter()
    for frames in samples(sys.stdin):
        name = component(frames)
        total[name] += 1
        kernel[name] += in_kernel(frames[0][0])
    count = sum(total.values())
    if not count:
        sys.exit("no samples on standard input")
    print(f"{count} samples")
    print("| component | share of on-CPU samples | of which in the kernel |")
    print("|---|---:|---:|")
    for name in ORDER:
        if total[name]:
            print(f"| {name} | {100 * total[name] / count:.1f} % | {100 * kernel[name] / total[name]:.0f} % |")
    print(f"| all | 100 % | {100 * sum(kernel.values()) / count:.0f} % |")


if __name__ == "__main__":
    main()
