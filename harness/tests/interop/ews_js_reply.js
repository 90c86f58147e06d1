// ews-javascript-api as the principal: reply to a message in the Inbox, save the reply as a
// draft, then send the draft.
//
// Usage: node ews_js_reply.js URL ORIGINAL_ITEM_ID
// Logs in with HTTP Basic as $EWS_USER / $EWS_PASSWORD. Prints one JSON object.
// NODE_PATH names the node_modules folder that holds ews-javascript-api.

const ews = require("ews-javascript-api");

async function main() {
  const [url, originalId] = process.argv.slice(2);
  const service = new ews.ExchangeService(ews.ExchangeVersion.Exchange2016);
  service.Credentials = new ews.WebCredentials(process.env.EWS_USER, process.env.EWS_PASSWORD);
  service.Url = new ews.Uri(url);

  const original = await ews.EmailMessage.Bind(service, new ews.ItemId(originalId)); // GetItem
  const reply = original.CreateReply(false); // a ReplyToItem, not reply-all
  reply.BodyPrefix = new ews.MessageBody(ews.BodyType.Text, "answer from ews-javascript-api");
  // CreateItem SaveOnly of the ReplyToItem in Drafts: the saved draft comes back.
  const draft = await reply.Save(ews.WellKnownFolderName.Drafts);
  // SendItem of the draft, SaveItemToFolder="false".
  await draft.Send();
  console.log(JSON.stringify({ draft: draft.Id.UniqueId, sent: true }));
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e && e.message ? e.message : e));
  process.exit(1);
});
