"""The certificate's second part: how to verify it offline, and what it does and does not prove."""

from __future__ import annotations

from notary.services.evidence.pdf.facts import CertificateFacts

Step = tuple[str, str, tuple[str, ...]]


def howto_steps(facts: CertificateFacts) -> list[Step]:
    """(Chinese, English, commands) for each step, in the order a checker runs them."""
    base = facts.public_url.rstrip("/")
    return [
        (
            "下载证据包与信任文件（合同平台、出借人、借款人或持案件授权的调查人员可下载证据包）。",
            "Download the evidence bundle (the platform, either party, or an investigator with a case) "
            "and the trust file.",
            (
                f"GET {base}/api/v1/contracts/{facts.contract_id}/evidence → bundle.zip",
                f"GET {base}/api/v1/trust → trust.json",
            ),
        ),
        (
            "离线完整验证：合同文件与条款摘要、双方签名、存证记录、时间戳、日志包含证明与检查点签名，"
            "全部通过才算有效。",
            "Full offline check of the document and terms digests, both signatures, the record, its "
            "timestamps, the inclusion proof and the checkpoint signature; valid only if every check "
            "passes.",
            ("notary verify bundle.zip --trust trust.json",),
        ),
        (
            "解压后核对摘要，应与本证明所列一致：证据包中的文件正是本证明所描述的文件。",
            "After unzipping, the digests must equal those printed above: the files in the bundle are "
            "the ones this certificate describes.",
            ("sha256sum document.* terms.json record.json",),
        ),
        (
            "验证时间戳：存证记录在时间戳时间之前已经存在，且此后未被改动。",
            "Check the timestamp: the record existed at the timestamp's time and has not changed since.",
            (
                "openssl ts -verify -in timestamp/record.tsr -data record.json "
                "-CAfile timestamp/tsa-chain.pem",
            ),
        ),
        (
            "本 PDF 带有存证机构的电子签名与时间戳；任何改动都会使签名失效。签名证书由存证机构根证书签发，"
            "根证书见信任文件中的 notary_roots_pem。",
            "This PDF carries the notary's signature and a timestamp; any change breaks it. The signing "
            "certificate chains to the notary root listed in trust.json (notary_roots_pem).",
            ("pdfsig certificate.pdf",),
        ),
    ]


def notes() -> list[tuple[str, str]]:
    """(Chinese, English) remarks on what the certificate means."""
    return [
        (
            "本证明不判断合同内容是否合法、真实；它证明的是：哪一份文件与条款，由哪两把密钥签署，"
            "何时提交、何时封存。",
            "This certificate does not judge whether the contract is lawful or true; it proves which "
            "document and terms were signed with which two keys, and when they were filed and sealed.",
        ),
        (
            "“由平台核验身份”表示当事人身份由合同平台提供；“经存证机构当面核验身份”表示存证机构的操作员"
            "已核对本人身份证件。",
            '"Identity as stated by the platform" means the platform vouched for the party; "verified in '
            "person\" means the notary's operator checked the person's identity document.",
        ),
        (
            "证件号码已部分隐去。存证记录中的 identity_commitment 是对证件类型与号码的加盐承诺，"
            "只有其开启文件（当事人本人持有，或随经批准的案件导出提供）才能显示号码，"
            "可用 notary verify --opening 核对。",
            "ID numbers are partly masked. The record's identity_commitment is a salted commitment to the ID "
            "type and number: only its opening (held by the party, or given with an approved case's export) "
            "shows the number, and notary verify --opening checks it.",
        ),
        (
            "所有时间均为协调世界时（UTC），北京时间为 UTC 加 8 小时。",
            "All times are UTC; Beijing time is UTC plus 8 hours.",
        ),
    ]
