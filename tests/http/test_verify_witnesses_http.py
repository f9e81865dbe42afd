"""``POST /api/v1/verify`` and the verify page hold a bundle to the witness policy (issue 21,
item 2d): below k is reported ``below_witness_policy`` and names the witnesses that cosigned;
``require_witnesses`` raises k; a bad K is a clear error, never a 500."""

from __future__ import annotations

import io
import subprocess
from typing import Any

import pytest

from notary.verify.canonical import canonical_json
from tests.support.cosigned import W1, W2, W3, cosigned, policy_trust
from tests.support.evidence import SampleLog, SampleNotary
from tests.support.export import make_export


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> dict[str, bytes]:
    notary = SampleNotary.create(tmp_path_factory.mktemp("witnessed") / "keys")
    log = SampleLog(notary, 4)
    genuine = log.bundle(1, 3)
    return {
        "export": make_export(notary, {log.filed[i].contract_id: log.bundle(i, 3) for i in range(3)}),
        "one": cosigned(genuine, W1),
        "two": cosigned(genuine, W1, W3),
        "trust": canonical_json(policy_trust(notary, 2).to_dict()),
    }


def api_verify(client: Any, bundle: bytes, trust: bytes, **fields: str) -> Any:
    data: dict[str, Any] = {
        "bundle": (io.BytesIO(bundle), "evidence.zip"),
        "trust": (io.BytesIO(trust), "trust.json"),
        **fields,
    }
    return client.post("/api/v1/verify", data=data, content_type="multipart/form-data")


def page_verify(client: Any, bundle: bytes, trust: bytes, language: str, **fields: str) -> Any:
    return client.post(
        "/verify",
        data={
            "bundle": (io.BytesIO(bundle), "evidence.zip"),
            "trust": (io.BytesIO(trust), "trust.json"),
            **fields,
        },
        headers={"X-Notary-Fragment": "1", "Accept-Language": language},
        content_type="multipart/form-data",
    )


def test_the_api_reports_a_bundle_below_the_policy_and_names_the_cosigners(client, sample):
    below = api_verify(client, sample["one"], sample["trust"])
    assert below.status_code == 200
    report = below.get_json()
    assert report["verdict"] == "below_witness_policy"
    assert report["valid"] is False
    assert report["witnesses"] == {
        "status": "below_policy",
        "k": 2,
        "n": 3,
        "cosigned_by": [W1.name],
        "policy": {"from_size": 0, "until_size": None},
    }
    met = api_verify(client, sample["two"], sample["trust"]).get_json()
    # The trust file is the caller's: met, but the origin is not established.
    assert (met["verdict"], met["witnesses"]["cosigned_by"]) == ("valid_integrity_only", [W1.name, W3.name])


def test_the_api_field_require_witnesses_raises_k(client, sample):
    raised = api_verify(client, sample["two"], sample["trust"], require_witnesses="3").get_json()
    assert (raised["verdict"], raised["witnesses"]["k"]) == ("below_witness_policy", 3)
    kept = api_verify(client, sample["two"], sample["trust"], require_witnesses="1").get_json()
    assert (kept["verdict"], kept["witnesses"]["k"]) == ("valid_integrity_only", 2)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("0", "bad_witness_requirement"),
        ("-2", "bad_witness_requirement"),
        ("three", "bad_witness_requirement"),
        ("4", "witness_requirement_unmeetable"),
    ],
)
def test_the_api_refuses_a_bad_requirement_with_its_code(client, sample, value, code):
    answer = api_verify(client, sample["two"], sample["trust"], require_witnesses=value)
    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] == code


def test_the_api_refuses_a_requirement_without_a_policy_or_for_a_pdf(client, sample):
    # This notary publishes no witness policy: nothing could meet K.
    answer = client.post(
        "/api/v1/verify",
        data={"bundle": (io.BytesIO(sample["two"]), "evidence.zip"), "require_witnesses": "1"},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] == "witness_requirement_unmeetable"
    pdf = api_verify(client, b"%PDF-1.7 a certificate", sample["trust"], require_witnesses="1")
    assert pdf.status_code == 422
    assert pdf.get_json()["error"]["details"] == {"require_witnesses": ["only with an evidence bundle"]}


def test_the_page_shows_the_cosigners_and_the_verdict_in_chinese_and_english(client, sample):
    zh = page_verify(client, sample["one"], sample["trust"], "zh-CN").get_data(as_text=True)
    assert 'data-verdict="below_witness_policy"' in zh
    assert "尚不能认定有效：见证方联署不足" in zh
    assert "所列 3 个见证方中已有 1 个联署；至少需要 2 个" in zh
    assert f'<li class="mono">{W1.name}</li>' in zh
    assert W2.name not in zh.split('data-witnesses="below_policy"')[1].split("</dd>")[0]
    assert 'data-check="witness_cosignatures" data-status="failed"' in zh
    en = page_verify(client, sample["one"], sample["trust"], "en").get_data(as_text=True)
    assert "NOT YET VALID: too few witnesses" in en
    assert "1 of the 3 witnesses listed cosigned; at least 2 required" in en
    assert "The trust file's policy for log sizes from 0" in en
    met = page_verify(client, sample["two"], sample["trust"], "en").get_data(as_text=True)
    assert 'data-witnesses="met"' in met
    assert "2 of the 3 witnesses listed cosigned; at least 2 required" in met


def test_the_page_field_raises_k_and_explains_a_bad_one(client, sample):
    raised = page_verify(client, sample["two"], sample["trust"], "en", require_witnesses="3")
    assert raised.status_code == 200
    assert "2 of the 3 witnesses listed cosigned; at least 3 required" in raised.get_data(as_text=True)
    assert page_verify(client, sample["two"], sample["trust"], "en", require_witnesses="").status_code == 200
    for value, words in (
        ("0", "must be a whole number from 1 up"),
        ("9", "does not list that many witnesses"),
    ):
        answer = page_verify(client, sample["two"], sample["trust"], "en", require_witnesses=value)
        assert answer.status_code == 422
        assert words in answer.get_data(as_text=True)
    zh = page_verify(client, sample["two"], sample["trust"], "zh-CN", require_witnesses="x")
    assert "要求的见证方数量必须是不小于 1 的整数" in zh.get_data(as_text=True)


def test_the_signed_pdf_report_refuses_a_bad_requirement(client, sample):
    answer = client.post(
        "/verify/report.pdf",
        data={
            "bundle": (io.BytesIO(sample["two"]), "evidence.zip"),
            "trust": (io.BytesIO(sample["trust"]), "trust.json"),
            "require_witnesses": "0",
        },
        content_type="multipart/form-data",
    )
    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] == "bad_witness_requirement"


def test_the_signed_pdf_report_says_not_yet_valid_below_the_policy(client, sample, tmp_path):
    def signed(bundle: bytes, **fields: str) -> str:
        answer = client.post(
            "/verify/report.pdf",
            data={
                "bundle": (io.BytesIO(bundle), "evidence.zip"),
                "trust": (io.BytesIO(sample["trust"]), "trust.json"),
                **fields,
            },
            content_type="multipart/form-data",
        )
        assert answer.status_code == 200
        pdf = tmp_path / "report.pdf"
        pdf.write_bytes(answer.data)
        return subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout

    below = signed(sample["one"])
    assert "NOT YET VALID: too few witnesses" in below
    assert "INVALID" not in below
    assert "NOT YET VALID" in signed(sample["two"], require_witnesses="3")
    assert "VALID for integrity only" in signed(sample["two"])


def test_a_case_export_below_the_policy_reads_not_yet_valid(client, sample):
    report = api_verify(client, sample["export"], sample["trust"]).get_json()
    assert report["verdict"] == "below_witness_policy"
    page = page_verify(client, sample["export"], sample["trust"], "zh-CN").get_data(as_text=True)
    assert 'data-verdict="below_witness_policy"' in page
    assert "请重新导出案件并核验新的导出文件" in page
