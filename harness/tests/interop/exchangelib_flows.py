"""exchangelib drives the mock as a mail client's outgoing side does, as the principal.

Usage: exchangelib_flows.py URL ME RECIPIENT FORWARD_TO MARKER
Logs in with HTTP Basic as $EWS_USER / $EWS_PASSWORD. Each flow uses a subject of its own,
MARKER-FLOW; the message with subject MARKER-original must be in ME's Inbox. Prints one JSON
object naming the flows that ran and what each saw.
"""

import json
import os
import sys

from exchangelib import BASIC, DELEGATE, Account, Configuration, Credentials, Mailbox, Message, Version
from exchangelib.version import EXCHANGE_2016

url, me, recipient, forward_to, marker = sys.argv[1:6]

config = Configuration(
    service_endpoint=url,
    credentials=Credentials(os.environ["EWS_USER"], os.environ["EWS_PASSWORD"]),
    auth_type=BASIC,
    version=Version(build=EXCHANGE_2016),
)
account = Account(primary_smtp_address=me, access_type=DELEGATE, autodiscover=False, config=config)


def message(flow, folder=None, **extra):
    # A message to be saved names its folder; one sent at once must not (exchangelib refuses).
    return Message(
        account=account,
        folder=folder,
        subject=f"{marker}-{flow}",
        body=f"body of {flow}",
        to_recipients=[Mailbox(email_address=recipient)],
        **extra,
    )


seen = {}

# save(): CreateItem SaveOnly in Drafts; read back with its properties.
draft = message(
    "save", account.drafts, sensitivity="Private", importance="High", categories=["ewsconf"]
)
draft.save()
back = account.drafts.get(id=draft.id)
seen["save"] = {
    "subject": back.subject,
    "sensitivity": back.sensitivity,
    "importance": back.importance,
    "categories": back.categories,
}

# send(): CreateItem SendOnly of a new message, no copy kept.
message("sendonly").send(save_copy=False)
seen["sendonly"] = True

# send_and_save() of a new message: CreateItem SendAndSaveCopy.
message("sendsave").send_and_save()
seen["sendsave"] = True

# send_and_save() of a saved draft: exchangelib updates the draft's fields (UpdateItem, SaveOnly)
# and sends it with SendItem, the copy to Sent Items.
saved = message("draftsendsave", account.drafts, sensitivity="Personal")
saved.save()
saved.send_and_save()
seen["draftsendsave"] = True

# send() of a saved draft without a copy: SendItem SaveItemToFolder=false.
saved = message("draftsend-nocopy", account.drafts)
saved.save()
saved.send(save_copy=False)
seen["draftsend-nocopy"] = True

# create_reply(...).save() then send(): CreateItem SaveOnly of a ReplyToItem in Drafts, then
# SendItem of the draft it made.
original = account.inbox.get(subject=f"{marker}-original")
saved = original.create_reply(f"RE: {marker}-reply", "my answer").save(account.drafts)
draft = account.drafts.get(id=saved.id)
seen["reply"] = {
    "subject": draft.subject,
    "to": [m.email_address for m in draft.to_recipients or []],
    "body": str(draft.body),
}
draft.send()

# create_forward(...).send(): CreateItem SendAndSaveCopy of a ForwardItem.
original = account.inbox.get(subject=f"{marker}-original")
original.create_forward(f"FW: {marker}-forward", "have a look", [Mailbox(email_address=forward_to)]).send()
seen["forward"] = True

print(json.dumps(seen))
