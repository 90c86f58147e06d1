// ews-javascript-api as a delegate: bind to a draft by id and SendAndSaveCopy() it, no folder.
//
// Usage: node ews_js_send_and_save_copy.js URL ITEM_ID
// The delegate logs in with HTTP Basic as $EWS_USER / $EWS_PASSWORD. Prints one JSON object.
// NODE_PATH names the node_modules folder that holds ews-javascript-api.

const ews = require("ews-javascript-api");

async function main() {
  const [url, itemId] = process.argv.slice(2);
  const service = new ews.ExchangeService(ews.ExchangeVersion.Exchange2016);
  // WebCredentials send HTTP Basic over the default XHR (plain HTTP is fine for loopback).
  service.Credentials = new ews.WebCredentials(process.env.EWS_USER, process.env.EWS_PASSWORD);
  service.Url = new ews.Uri(url);

  const message = await ews.EmailMessage.Bind(service, new ews.ItemId(itemId)); // GetItem
  // No folder: SendItem SaveItemToFolder="true" with DistinguishedFolderId sentitems, no Mailbox.
  await message.SendAndSaveCopy();
  console.log(JSON.stringify({ subject: message.Subject, sent: true }));
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e && e.message ? e.message : e));
  process.exit(1);
});
