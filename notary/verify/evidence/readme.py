"""The ``README.txt`` written into every bundle: how a person checks each part by hand.

Every command in it is run by the tests against a genuine bundle (lines starting with
``  $ `` are shell commands, run from the folder the bundle was unpacked into; the lines
after ``python3 - <<'EOF'``, up to ``EOF``, are their input), so the text stays true to the code.
"""

from __future__ import annotations

_README = """\
NOTARY EVIDENCE BUNDLE (format notary-evidence/1)
==================================================

This zip proves one loan contract: the document and terms both parties signed,
their two signatures, a trusted time, and the contract's place in the notary's
public append-only log. Nothing here needs the network to check. The quick way:

  notary verify THIS.zip --trust trust.json

where trust.json is the notary's trust file (GET /api/v1/trust), obtained once
from a source you trust. Without --trust the keys inside this zip are used: that
shows nothing was changed since the zip was made, but not who made it.

Below: how to check each part by hand with common tools (sha256sum, openssl 3,
python3). Unpack the zip into an empty folder and run the commands there.


1. What is in the bundle
------------------------
manifest.json            the list of every other file with its SHA-256
{document:<24} the contract document, byte for byte as filed
terms.json               the loan terms (canonical JSON)
record.json              the evidence record: the log entry for this contract
keys/investor.pem        the investor's public key
keys/borrower.pem        the borrower's public key
keys/notary.pem          the notary's document-signing certificate and its root
timestamp/record.tsr     RFC 3161 timestamp over record.json
timestamp/tsa-chain.pem  the timestamp authority's certificate and its root
timestamp/checkpoint-K.tsr, timestamp/checkpoint-K-chain.pem ({tokens} here)
                         timestamps over the log checkpoint, one per authority
log/inclusion.json       the proof that record.json is in the log
log/checkpoint.txt       the log's signed tree head that the proof leads to
log/key.json             the log's public key
README.txt               this text

All JSON files are RFC 8785 canonical JSON: no spaces, keys sorted, UTF-8.


2. Every file is the one listed (integrity of the zip)
------------------------------------------------------
manifest.json lists the SHA-256 of every other file; compare with sha256sum:

  $ sha256sum {document} terms.json record.json
  $ python3 -c 'import json; [print(h, p) for p, h in json.load(open("manifest.json"))["files"].items()]'

The manifest itself is not signed: what binds the files are the checks below.


3. The document and terms are the ones signed
---------------------------------------------
record.json states document_sha256, document_size and terms_sha256:

  $ python3 -c 'import json; r = json.load(open("record.json")); print(r["document_sha256"], r["document_size"], r["terms_sha256"])'
  $ sha256sum {document} terms.json

The two hashes printed by sha256sum must be those in the record, and the
document's size (ls -l) its document_size. If you hold a copy of the document,
sha256sum it too: the same hash means the very same bytes.


4. Both parties signed this contract
------------------------------------
Each party signed the canonical JSON "signing payload" rebuilt from the record:
{{"contract_id","document_sha256","party_id","platform_id","purpose":"notary.sign.v1",
"role","terms_sha256"}}, keys sorted, no spaces. This writes each payload and
signature to a file:

  $ python3 - <<'EOF'
import base64, json
record = json.load(open("record.json", encoding="utf-8"))
for role in ("investor", "borrower"):
    entry = record["signatures"][role]
    payload = {{"purpose": "notary.sign.v1", "contract_id": record["contract_id"],
               "platform_id": record["platform_id"], "role": role,
               "party_id": entry["party_id"], "document_sha256": record["document_sha256"],
               "terms_sha256": record["terms_sha256"]}}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    open(f"payload-{{role}}.json", "wb").write(text.encode("utf-8"))
    open(f"signature-{{role}}.bin", "wb").write(base64.b64decode(entry["signature"]))
    print(role, entry["algorithm"], entry["key_fingerprint"])
EOF

The key files are the keys the record names (their fingerprint is the SHA-256
of the DER public key):

  $ openssl pkey -pubin -in keys/investor.pem -outform DER | sha256sum
  $ openssl pkey -pubin -in keys/borrower.pem -outform DER | sha256sum

Then, for a party whose algorithm is ed25519:

  openssl pkeyutl -verify -pubin -inkey keys/investor.pem -rawin -in payload-investor.json -sigfile signature-investor.bin

and for ecdsa-p256-sha256:

  openssl dgst -sha256 -verify keys/investor.pem -signature signature-investor.bin payload-investor.json

(the same with "borrower"). Both must say "Signature Verified Successfully" or
"Verified OK".


5. The trusted time (RFC 3161 timestamp over record.json)
---------------------------------------------------------
ROOT.pem is the timestamp authority's root certificate from the trust file
(tsa_roots_pem). For a check of integrity only, the last certificate in
timestamp/tsa-chain.pem is that root as the bundle states it.

  $ openssl ts -reply -in timestamp/record.tsr -text
  $ openssl ts -verify -data record.json -in timestamp/record.tsr -CAfile ROOT.pem -untrusted timestamp/tsa-chain.pem

"Time stamp:" in the first output is the established time. If the authority's
certificate has expired since, add -attime SECONDS (the Unix time of that
"Time stamp:" line): a token is judged by the certificate's validity when it
was made.


6. The record is in the log (Merkle inclusion proof)
----------------------------------------------------
log/checkpoint.txt is the log's signed tree head: its origin, tree size and
root hash (base64) on the first three lines, a blank line, then signatures.
log/inclusion.json holds the record's leaf index (its "sequence" in
record.json), the tree size and the proof hashes (RFC 9162, section 2.1.3):

  $ python3 - <<'EOF'
import base64, hashlib, json
H = lambda data: hashlib.sha256(data).digest()
proof = json.load(open("log/inclusion.json"))
origin, size, root = open("log/checkpoint.txt", encoding="utf-8").read().split("\\n")[:3]
fn, sn = proof["leaf_index"], proof["tree_size"] - 1
r = H(b"\\x00" + open("record.json", "rb").read())
for p in (bytes.fromhex(h) for h in proof["hashes"]):
    assert sn > 0, "proof too long"
    if fn & 1 or fn == sn:
        r = H(b"\\x01" + p + r)
        while fn and not fn & 1:
            fn, sn = fn >> 1, sn >> 1
    else:
        r = H(b"\\x01" + r + p)
    fn, sn = fn >> 1, sn >> 1
assert sn == 0 and r == base64.b64decode(root) and int(size) == proof["tree_size"], "NOT in the log"
assert json.load(open("record.json"))["sequence"] == proof["leaf_index"], "wrong leaf"
print("record.json is leaf", proof["leaf_index"], "of", size, "in", origin)
EOF


7. The log signed that tree head (checkpoint signature)
-------------------------------------------------------
The signature line is "— <origin> base64(4-byte key id || Ed25519 signature)",
over the first three lines (each with its newline). The log's key is
log/key.json's public_key_pem; compare its verifier_key with the one in the
trust file (logs[].verifier_key) or GET /api/v1/log/key.

  $ python3 - <<'EOF'
import base64, json
text = open("log/checkpoint.txt", encoding="utf-8").read()
body, signatures = text.split("\\n\\n", 1)
open("checkpoint-body.txt", "wb").write((body + "\\n").encode("utf-8"))
line = signatures.splitlines()[0]
open("checkpoint-signature.bin", "wb").write(base64.b64decode(line.split(" ")[2])[4:])
key = json.load(open("log/key.json"))
open("log-key.pem", "w").write(key["public_key_pem"])
print(key["verifier_key"])
EOF
  $ openssl pkeyutl -verify -pubin -inkey log-key.pem -rawin -in checkpoint-body.txt -sigfile checkpoint-signature.bin


8. The tree head's trusted time
-------------------------------
Each timestamp/checkpoint-K.tsr stamps checkpoint-body.txt (made in step 7):

  $ openssl ts -verify -data checkpoint-body.txt -in timestamp/checkpoint-1.tsr -CAfile ROOT.pem -untrusted timestamp/checkpoint-1-chain.pem


9. Later: the log still holds it (consistency)
----------------------------------------------
Fetch a newer checkpoint (GET /api/v1/log/checkpoint, or from a witness) and
the proof from this tree size to it (GET /api/v1/log/proof/consistency?first=
<this size>&second=<newer size>), then:

  notary verify THIS.zip --trust trust.json --checkpoint newer.txt --consistency proof.json

A log that rewrote history cannot produce that proof.

The format is described in full in docs/evidence-format.md of the notary.
"""


def readme_text(document_name: str, checkpoint_tokens: int) -> str:
    """The README of a bundle whose document member is ``document_name``."""
    return _README.format(document=document_name, tokens=checkpoint_tokens)
