#!/usr/bin/env python3
# Kiln — Apache-2.0. See LICENSE.
"""The figures Kiln's benchmarks are compared with: what a Python user would otherwise pick.

- keccak-256: eth-hash with its pycryptodome backend (C), 64 B and 1 MiB inputs.
- secp256k1 recover: eth-account's Account._recover_hash, which uses eth-keys (pure Python backend unless
  coincurve is installed), and coincurve itself (libsecp256k1 bundled) when installed.

Run: .venv/bin/pip install -r scripts/bench/requirements.txt && .venv/bin/python scripts/bench/python_bench.py
"""
import time

from eth_hash.auto import keccak


def rate(fn, seconds=2.0):
    """Calls per second of fn, over about `seconds` (after a short warm-up)."""
    for _ in range(10):
        fn()
    count, start = 0, time.perf_counter()
    while True:
        for _ in range(50):
            fn()
        count += 50
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return count / elapsed


def main():
    import eth_hash.backends.pycryptodome  # noqa: F401  (fails loudly if the C backend is missing)
    small = bytes([0xA5]) * 64
    large = bytes((i * 31) & 0xFF for i in range(1 << 20))
    r = rate(lambda: keccak(small))
    print(f"keccak256 64 B (eth-hash/pycryptodome): {r:,.0f} hashes/s ({r * 64 / 1e6:.1f} MB/s)")
    r = rate(lambda: keccak(large), seconds=3.0)
    print(f"keccak256 1 MiB (eth-hash/pycryptodome): {r:,.1f} hashes/s ({r * (1 << 20) / 1e6:.0f} MB/s)")

    from eth_account import Account
    from eth_keys import KeyAPI
    key = bytes(range(1, 33))
    digest = keccak(b"kiln benchmark")
    signature = Account.unsafe_sign_hash(digest, key).signature
    backend = type(KeyAPI().backend).__name__
    r = rate(lambda: Account._recover_hash(digest, signature=signature))
    print(f"secp256k1 recover (eth-account, eth-keys {backend}): {r:,.0f} recovers/s")
    try:
        import coincurve
    except ImportError:
        print("coincurve not installed: pip install -r scripts/bench/requirements.txt for its figure")
        return
    sig = signature[:64] + bytes([signature[64] - 27])
    r = rate(lambda: coincurve.PublicKey.from_signature_and_message(sig, digest, hasher=None))
    print(f"secp256k1 recover (coincurve {coincurve.__version__ if hasattr(coincurve, '__version__') else ''}, libsecp256k1): {r:,.0f} recovers/s")


if __name__ == "__main__":
    main()
