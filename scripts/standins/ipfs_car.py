"""CAR v1 and dag-pb reading for the IPFS stand-ins (kubo_standin.py, pinning_standin.py): written here from the
CAR v1 and dag-pb specs with the independent `dag-cbor` and `multiformats` libraries, never Kiln's code."""
from multiformats import CID, multihash, varint


def sections(data):
    """(header, [(cid, block)] in file order) of a CAR v1; raises ValueError on any malformed section or a block
    that does not match its CID."""
    import dag_cbor

    length, n, _ = varint.decode_raw(data)
    header = dag_cbor.decode(bytes(data[n:n + length]))
    if header.get("version") != 1:
        raise ValueError(f"CAR version {header.get('version')} (only 1 is read)")
    offset, found = n + length, []
    while offset < len(data):
        size, m, _ = varint.decode_raw(data[offset:])
        body = data[offset + m:offset + m + size]
        if len(body) != size:
            raise ValueError(f"CAR section at byte {offset} is truncated")
        if body[:2] == b"\x12\x20":
            end = 34
        else:
            _, a, _ = varint.decode_raw(body)
            _, b, _ = varint.decode_raw(body[a:])
            _, d, _ = varint.decode_raw(body[a + b:])
            ln, e, _ = varint.decode_raw(body[a + b + d:])
            end = a + b + d + e + ln
        cid = CID.decode(bytes(body[:end]))
        block = bytes(body[end:])
        if bytes(multihash.digest(block, "sha2-256")) != bytes(cid.digest):
            raise ValueError(f"block {text(cid)} does not match its CID")
        found.append((cid, block))
        offset += m + size
    return header, found


def read_car(data):
    """(roots, {cid text: block}) of a CAR v1, every block checked (see sections)."""
    header, found = sections(data)
    roots = [r if isinstance(r, CID) else CID.decode(bytes(r)) for r in header["roots"]]
    return roots, {text(cid): block for cid, block in found}


def text(cid):
    return str(cid.set(base="base32")) if cid.version == 1 else str(cid)


def links(block):
    """The CIDs a dag-pb block links to (PBNode field 2, PBLink field 1)."""
    out, i = [], 0
    while i < len(block):
        key, n, _ = varint.decode_raw(block[i:])
        i += n
        if key & 7 == 2:
            size, n, _ = varint.decode_raw(block[i:])
            i += n
            value = block[i:i + size]
            i += size
            if key >> 3 == 2:
                j = 0
                while j < len(value):
                    k, n, _ = varint.decode_raw(value[j:])
                    j += n
                    if k & 7 == 2:
                        s, n, _ = varint.decode_raw(value[j:])
                        j += n
                        if k >> 3 == 1:
                            out.append(CID.decode(bytes(value[j:j + s])))
                        j += s
                    else:
                        _, n, _ = varint.decode_raw(value[j:])
                        j += n
        elif key & 7 == 0:
            _, n, _ = varint.decode_raw(block[i:])
            i += n
        else:
            raise ValueError(f"dag-pb: wire type {key & 7}")
    return out


def missing(root, blocks):
    """The first block reachable from root that is absent, or None when the DAG is complete."""
    todo, seen = [root], set()
    while todo:
        cid = todo.pop()
        name = text(cid)
        if name in seen:
            continue
        seen.add(name)
        if name not in blocks:
            return name
        if cid.codec.name == "dag-pb":
            todo += links(blocks[name])
    return None
