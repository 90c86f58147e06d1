"""zeep, a WSDL-driven SOAP client: load the mock's WSDL in strict mode, then CreateItem and SendItem.

Usage: zeep_send.py WSDL_URL RECIPIENT SUBJECT
Logs in with HTTP Basic as $EWS_USER / $EWS_PASSWORD. Saves a message to RECIPIENT in the
user's Drafts (CreateItem, SaveOnly), then sends it with SendItem, SaveItemToFolder=true.
Everything zeep sends and reads comes from the WSDL and the schemas it imports. Prints one JSON
object: the operations the WSDL binds, the address it names, and each answer's class and code.
"""

import json
import os
import sys

import requests
import zeep
from requests.auth import HTTPBasicAuth
from zeep.transports import Transport

wsdl_url, recipient, subject = sys.argv[1:4]

session = requests.Session()
session.auth = HTTPBasicAuth(os.environ["EWS_USER"], os.environ["EWS_PASSWORD"])
session.trust_env = False  # the mock is on loopback: no proxy from the environment
client = zeep.Client(
    wsdl_url,
    settings=zeep.Settings(strict=True),
    transport=Transport(session=session, timeout=30, operation_timeout=30),
)

(service,) = client.wsdl.services.values()
(port,) = service.ports.values()
operations = sorted(port.binding._operations)
address = port.binding_options["address"]

# The headers are parts of the binding: zeep builds them from types.xsd.
headers = {"RequestServerVersion": {"Version": "Exchange2013_SP1"}}


def messages(answer):
    """The (class, code, message) of each response message, and the answer's body."""
    body = answer.body if hasattr(answer, "body") else answer
    out = []
    for choice in body.ResponseMessages._value_1:
        (message,) = choice.values()
        out.append((message.ResponseClass, message.ResponseCode, message))
    return out


created = messages(
    client.service.CreateItem(
        MessageDisposition="SaveOnly",
        Items={
            "_value_1": [
                {
                    "Message": {
                        "Subject": subject,
                        "Body": {"_value_1": "sent by zeep", "BodyType": "Text"},
                        "ToRecipients": {"_value_1": [{"Mailbox": {"EmailAddress": recipient}}]},
                    }
                }
            ]
        },
        _soapheaders=headers,
    )
)
((create_class, create_code, create_message),) = created
item = create_message.Items._value_1[0]
(draft,) = item.values()
item_id = draft.ItemId

sent = messages(
    client.service.SendItem(
        ItemIds={"_value_1": [{"ItemId": {"Id": item_id.Id, "ChangeKey": item_id.ChangeKey}}]},
        SavedItemFolderId={"DistinguishedFolderId": {"Id": "sentitems"}},
        SaveItemToFolder=True,
        _soapheaders=headers,
    )
)

print(
    json.dumps(
        {
            "operations": operations,
            "address": address,
            "create": [[c, r] for c, r, _ in created],
            "send": [[c, r] for c, r, _ in sent],
            "item_id": item_id.Id,
        }
    )
)
