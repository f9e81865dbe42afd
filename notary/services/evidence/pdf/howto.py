"""The certificate's second part: how to verify it offline, and what it does and does not prove."""

from __future__ import annotations

from notary.services.evidence.pdf.facts import CertificateFacts

Step = tuple[str, str, tuple[str, ...]]


def howto_steps(facts: CertificateFacts) -> list[Step]:
    """(Chinese, English, commands) for each step, in the order a checker runs them."""
    base = facts.public_url.rstrip("/")
    if any(attachment.name == "record.json" for attachment in facts.attachments):
        alone_zh = "检查签名、时间戳与 PDF 中附带的存证记录及其证明"
        alone_en = "checks the signature, the timestamp, and the record and proofs carried inside"
    else:
        alone_zh = "检查签名与时间戳，并按证明所列摘要找到存证记录"
        alone_en = "checks the signature and the timestamp, and finds the record by the digest printed here"
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
            "验证时间戳：存证记录在时间戳时间之前已经存在，且此后未被改动。信任的根证书取自信任文件"
            "（tsa_roots_pem），而不是证据包自带的证书链；证据包中的 README.txt 第 5 步与此相同。",
            "Check the timestamp: the record existed at the timestamp's time and has not changed since. "
            "The trusted root comes from the trust file (tsa_roots_pem), not from the bundle's own chain; "
            "step 5 of the bundle's README.txt is the same.",
            (
                'python3 -c \'import json; print(json.load(open("trust.json"))["tsa_roots_pem"][0], end="")\''
                " > tsa-root.pem",
                "openssl ts -verify -data record.json -in timestamp/record.tsr "
                "-CAfile tsa-root.pem -untrusted timestamp/tsa-chain.pem",
            ),
        ),
        (
            f"本 PDF 带有存证机构的电子签名与时间戳；任何改动都会使签名失效。也可只凭本 PDF 核验：notary verify "
            f"{alone_zh}；加 --online 或证据包时再核对日志包含证明。签名证书由存证机构根证书签发，根证书见信任"
            "文件中的 notary_roots_pem。",
            "This PDF carries the notary's signature and a timestamp; any change breaks it. It can be checked "
            f"on its own: notary verify {alone_en}; with --online or the bundle it also checks the record's "
            "place in the log. The signing certificate chains to the notary root in trust.json "
            "(notary_roots_pem).",
            (
                "notary verify certificate.pdf --trust trust.json [--online "
                + base
                + " | --bundle bundle.zip]",
            ),
        ),
        (
            "用 pdfsig 验证本 PDF 的签名：把信任文件中的根证书（notary_roots_pem）放入一个 NSS 证书库并设为受信任的"
            "签发者。Adobe Reader 的做法见下方说明。",
            "Check this PDF's signature with pdfsig: put the notary root from the trust file (notary_roots_pem) "
            "into an NSS database as a trusted issuer. For Adobe Reader see the notes below.",
            (
                'python3 -c \'import json; print(json.load(open("trust.json"))["notary_roots_pem"][0], end="")\''
                " > notary-root.pem",
                "mkdir nss && certutil -N -d sql:nss --empty-password",
                'certutil -A -d sql:nss -n notary-root -t ",C," -i notary-root.pem',
                "pdfsig -nssdir sql:nss certificate.pdf",
            ),
        ),
    ]


def notes(facts: CertificateFacts) -> list[tuple[str, str]]:
    """(Chinese, English) remarks on what the certificate means and how to trust it."""
    base = facts.public_url.rstrip("/")
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
            "时间先以北京时间（UTC+8）显示，其后是记录中的原文；金额的千分位与大写、利率的百分数、日期的"
            "中文写法，均标有「换算」，由原文换算而来，仅便于阅读，一切以原文为准。",
            "Times are shown in Beijing time (UTC+8) first, then exactly as recorded. Amounts with "
            "separators and in capitals, rates in percent and dates in Chinese are marked 换算 (derived): "
            "they are computed from the signed value, for reading only; the signed value prevails.",
        ),
        (
            f"信任文件：{base}/api/v1/trust（请从可信渠道取得一次并保存）。Adobe Reader：编辑 → 首选项 → 签名 → "
            "身份与可信证书 → 更多 → 可信证书 → 导入 notary-root.pem，再选中它 → 编辑信任 → 勾选"
            "「将此证书用作受信任的根」。详见 notary 文档 docs/trust-howto.md。",
            f"Trust file: {base}/api/v1/trust (obtain it once, from a source you trust, and keep it). Adobe "
            "Reader: Edit → Preferences → Signatures → Identities & Trusted Certificates → More → Trusted "
            'Certificates → Import notary-root.pem, then select it → Edit Trust → "Use this certificate as a '
            "trusted root\". More in the notary's docs/trust-howto.md.",
        ),
    ]
