"""Text the pages' scripts show, translated on the server and handed to them as JSON.

Scripts hold no text of their own: an API error code becomes the message here that says what
happened and what to do, in the page's language.
"""

from __future__ import annotations

from flask_babel import gettext as _


#: API error codes → what happened and what to do.
def error_messages() -> dict[str, str]:
    return {
        "unauthenticated": _("Your login has expired or was not accepted. Log in again with your key."),
        "bad_challenge": _("The login took too long and its challenge expired. Try again."),
        "not_found": _(
            "This contract is not in your name, or does not exist. Check the link, or log in with the key the platform enrolled for you."
        ),
        "forbidden": _("This is not allowed yet: the case has not been approved by an operator."),
        "contract_not_open": _(
            "This contract can no longer be signed: it was declined, it expired, or it is already sealed."
        ),
        "already_signed": _("This contract has already been signed for this role."),
        "bad_signature": _(
            "The signature does not match the key enrolled for this role. Use the key the platform enrolled for you."
        ),
        "wrong_role": _("This key does not belong to that role in the contract."),
        "evidence_not_ready": _(
            "The evidence is still being sealed and timestamped. Try again in a few seconds."
        ),
        "malformed_bundle": _(
            "This file is not an evidence bundle or a case export. Choose the .zip file you downloaded."
        ),
        "too_large": _(
            "The file is too large for the page. Use the offline verifier (notary verify) instead."
        ),
        "rate_limited": _("Too many requests. Wait a minute and try again."),
        "validation_failed": _("Some of what you entered is not valid. Check the fields marked below."),
        "bad_id_number": _("The ID number is not valid. Check it and try again."),
        "platform_defunct": _("That platform has been marked defunct."),
        "network": _("The notary could not be reached. Check your connection and try again."),
        "unavailable": _("The notary is unavailable right now. Try again later."),
        "internal_error": _("Something went wrong on our side. Try again in a moment."),
        "key_not_enrolled": _(
            "This key was not accepted: no platform enrolled it and no operator verified it. Use the key your platform enrolled for you."
        ),
        "choose_key_file": _("Choose your key file (private.pem) first."),
        "report_replayed": _("You have reported this document on this platform already: see Your reports."),
        "bad_report_signature": _(
            "The report's signature does not match your key. Log in again with your key and try again."
        ),
        "unknown_platform": _("No platform has that id. Choose the platform from the list."),
        "document_filed": _(
            "This platform has filed this document in your name: there is nothing to report. Check it again."
        ),
        "malformed_report": _("The report could not be read. Reload the page and try again."),
        "followed_automatically": _("You follow the platforms of your own contracts whatever you choose."),
        "key_file_not_pem": _("This is not a key file: choose the private.pem that notary keygen made."),
        "key_file_unsupported": _("This key is neither Ed25519 nor P-256, the kinds the notary accepts."),
        "key_revoked": _(
            "This key was revoked: it no longer logs in or signs. Make a new key and ask your platform to rotate to it."
        ),
        "key_retired": _("This key was replaced by a newer key of yours. Sign with the newer key."),
        "revocation_incomplete": _(
            "A key is revoked for every platform it is enrolled on at once. Reload the page and try again."
        ),
    }


def common_messages() -> dict[str, str]:
    """Every message a page's scripts may need (they are few, so every page gets all)."""
    messages = {f"error.{code}": text for code, text in error_messages().items()}
    messages.update({f"status.{code}": text for code, text in status_words().items()})
    messages.update(
        {
            "working": _("Working…"),
            "verify.choose_bundle": _("Choose the evidence bundle (.zip) first."),
            "key.made": _("Your key is made and kept in this browser. Give the public key to your platform."),
            "key.unsupported": _(
                "This browser cannot make that kind of key. Try the other kind, or use notary keygen."
            ),
            "key.fill_in": _("Fill in the platform id, your name and your ID number."),
            "key.enrolment_ready": _("The enrolment request is ready: send it to your platform."),
            "key.removed": _("The key was removed from this browser."),
            "cases.enter_token": _("Enter your investigator token."),
            "cases.token_refused": _(
                "This token was not accepted: it is mistyped, revoked or expired. Ask the notary's operator for a new one."
            ),
            "cases.opened": _(
                "Case %(case)s is open. An operator of the notary must approve it before anything in its scope can be read."
            ),
            "cases.pending": _("Awaiting approval"),
            "cases.approved": _("Approved"),
            "cases.defunct": _("defunct"),
            "cases.in_scope": _(
                "%(in_scope)s contract(s) in scope, %(sealed)s sealed (the export holds those whose evidence is ready)."
            ),
            "cases.progress": _("%(done)s of %(total)s bundles, %(size)s"),
            "cases.downloaded": _(
                "Downloaded: %(size)s. Verify it on the verify page or with notary verify."
            ),
            "sign.done": _("Signed. The contract is now: %(status)s."),
            "sign.declined": _("Declined. The contract is now: %(status)s."),
            "sign.copy_matches": _("Your copy is exactly the document in the payload."),
            "sign.copy_differs": _(
                "Your copy is NOT the document in the payload. Do not sign; ask the platform why."
            ),
            "logged_out": _("You are logged out. The token was removed from this browser tab."),
            "check.choose_file": _("Choose the contract file first."),
            "report.choose_platform": _("Choose the platform that did not file the contract."),
            "report.log_in_again": _(
                "To sign the report, log in again with your key (the key is not kept after a reload)."
            ),
            "report.lodged": _(
                "Report %(report)s is lodged: signed with your key and being written into the notary's log."
            ),
            "follow.following": _("You follow this platform: its notices show on My contracts."),
            "keys.confirm": _("Tick the box to confirm that this key should stop working for good."),
            "keys.need_key": _(
                "Log in again with this key to revoke it: the revocation is signed by the key itself."
            ),
            "keys.need_key_to_rotate": _(
                "Log in again with this key to replace it: the change is approved by the key itself."
            ),
            "keys.other_browser_key": _(
                "This browser keeps another key, which the new key would take the place of. Replace this key in a browser that keeps no other key."
            ),
            "keys.rotated": _(
                "Done: your new key %(key)s is your key on every platform above and is kept in this browser. The old key no longer logs in or signs there; contracts it signed stay valid."
            ),
            "keys.rotated_log_in": _(
                "Your key was replaced by the new key kept in this browser. Log in with it."
            ),
            "keys.rotate_partial": _(
                "%(done)s of %(total)s platforms had already moved to the new key: press Replace this key again to finish with the same new key."
            ),
            "keys.rotate.bad_signature": _(
                "The notary did not accept this key's approval. Log in again with this key and try again."
            ),
            "keys.rotate.bad_proof": _(
                "The notary did not accept the new key's proof for your identity. Reload the page and try again."
            ),
            "keys.rotate.key_in_use": _(
                "The new key is already in use. Try again: another new key will be made."
            ),
            "keys.rotate.not_found": _(
                "This key no longer acts for one of these platforms. Reload the page and log in again."
            ),
            "keys.revoked": _(
                "The key is revoked on every platform: it no longer logs in or signs. Contracts it signed before stay valid. Make a new key and ask your platform to rotate to it."
            ),
        }
    )
    return messages


def status_words() -> dict[str, str]:
    """A contract's status for a person."""
    return {
        "awaiting_signatures": _("Waiting for signatures"),
        "signed": _("Signed, being sealed"),
        "sealed": _("Sealed in the log"),
        "expired": _("Expired unsigned"),
        "declined": _("Declined"),
    }


def role_words() -> dict[str, str]:
    return {"investor": _("Investor (lender)"), "borrower": _("Borrower")}


def revocation_reason_words() -> dict[str, str]:
    """Why a key is revoked (``notary.revoke.v1`` reasons), for a person."""
    return {
        "lost": _("I lost it"),
        "compromised": _("Someone else may have it"),
        "superseded": _("I have a new key"),
        "other": _("Another reason"),
    }
