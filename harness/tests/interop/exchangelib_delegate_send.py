"""exchangelib as a delegate: save a draft in the principal's Drafts, then send it with SendItem.

Usage: exchangelib_delegate_send.py URL PRINCIPAL RECIPIENT SUBJECT
The delegate logs in with HTTP Basic as $EWS_USER / $EWS_PASSWORD. Prints one JSON object.
"""

import json
import os
import sys

from exchangelib import BASIC, DELEGATE, Account, Configuration, Credentials, Mailbox, Message, Version
from exchangelib.folders import Root
from exchangelib.properties import DistinguishedFolderId
from exchangelib.version import EXCHANGE_2016

url, principal, recipient, subject = sys.argv[1:5]

# A fixed version and no autodiscover: exchangelib then goes straight to the endpoint.
config = Configuration(
    service_endpoint=url,
    credentials=Credentials(os.environ["EWS_USER"], os.environ["EWS_PASSWORD"]),
    auth_type=BASIC,
    version=Version(build=EXCHANGE_2016),
)
account = Account(primary_smtp_address=principal, access_type=DELEGATE, autodiscover=False, config=config)

# The delegate holds rights on the principal's Drafts and Sent Items only, not on the mailbox's
# root, as with folder-level delegate grants on Exchange. Account.root would GetFolder that root
# and get ErrorAccessDenied; an unfetched Root lets account.drafts and account.sent resolve their
# distinguished folders (in the principal's mailbox) directly.
account.root = Root(
    account=account,
    _distinguished_id=DistinguishedFolderId(id="root", mailbox=Mailbox(email_address=principal)),
)

draft = Message(
    account=account,
    folder=account.drafts,
    subject=subject,
    body="sent by exchangelib as a delegate",
    to_recipients=[Mailbox(email_address=recipient)],
)
draft.save()  # CreateItem SaveOnly in the principal's Drafts
draft_id = draft.id
# An existing draft: exchangelib sends it with SendItem, the copy going to account.sent.
draft.send(save_copy=True)

print(json.dumps({"draft_id": draft_id, "sent": True}))
