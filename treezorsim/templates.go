package treezorsim

import "html/template"

// pageTemplates are the simulator's HTML pages: no external assets, plain CSS, no
// JavaScript; every action is a form with a POST button that has a stable id.
var pageTemplates = template.Must(template.New("pages").Parse(`
{{define "head"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.}} · Treezor sandbox simulator</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f4f6f8;color:#1d2733}
header{background:#0b3d5c;color:#fff;padding:.8rem 1.5rem}
header a{color:#fff;text-decoration:none;margin-right:1rem}
main{max-width:52rem;margin:1.5rem auto;padding:0 1rem}
section{background:#fff;border:1px solid #d8dee4;border-radius:6px;padding:1rem 1.2rem;margin-bottom:1rem}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:0}
select,textarea{width:100%;box-sizing:border-box;margin:.3rem 0 .6rem;padding:.35rem;font:inherit}
button{font:inherit;padding:.45rem 1rem;border-radius:4px;border:1px solid #0b3d5c;background:#0b3d5c;color:#fff;cursor:pointer}
button.warn{background:#a4570b;border-color:#a4570b}button.danger{background:#9b1c1c;border-color:#9b1c1c}
button.plain{background:#fff;color:#0b3d5c}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.35rem;border-bottom:1px solid #e5e9ee;vertical-align:top}
.muted{color:#5b6670;font-size:.9rem}.ok{color:#17693a}.err{color:#9b1c1c}
code{background:#eef1f4;padding:0 .25rem;border-radius:3px}
</style></head><body>
<header><strong>Treezor sandbox simulator</strong> &nbsp; <a href="/">Home</a><a href="/kyc">KYC desk</a><a href="/sim/stats">Stats</a></header>
<main>{{end}}

{{define "foot"}}</main></body></html>{{end}}

{{define "identification"}}{{template "head" "Identification"}}
<h1>QES identification <code id="identification-id">{{.Ident.ID}}</code></h1>
<p class="muted">You play the end user (and the identification provider). State: <strong id="state">{{.Ident.State}}</strong>{{if .Ident.Result}}, result <strong>{{.Ident.Result}}</strong>{{end}}{{if .Ident.Reason}}, reason {{.Ident.Reason}}{{end}}.</p>
{{if .Open}}
<section><h2>Complete successfully</h2>
<form method="post" action="/identifications/{{.Ident.ID}}/actions">
<input type="hidden" name="action" value="success">
<label for="success-result">Result</label>
<select id="success-result" name="result"><option value="SUCCESS">SUCCESS</option><option value="SUCCESS_DATA_CHANGED">SUCCESS_DATA_CHANGED</option></select>
<button id="complete-success" type="submit">Complete successfully</button>
</form></section>
{{if .CanAbort}}
<section><h2>Abort (the user abandons)</h2>
<form method="post" action="/identifications/{{.Ident.ID}}/actions">
<input type="hidden" name="action" value="abort">
<label for="abort-reason">Aborted reason</label>
<select id="abort-reason" name="reasonCode">{{range .Aborted}}<option value="{{.Code}}">{{.Code}} {{.Message}}</option>{{end}}</select>
<button id="abort" class="warn" type="submit">Abort</button>
</form></section>
{{end}}
<section><h2>Canceled by the provider</h2>
<form method="post" action="/identifications/{{.Ident.ID}}/actions">
<input type="hidden" name="action" value="cancel">
<label for="cancel-reason">Canceled reason</label>
<select id="cancel-reason" name="reasonCode">{{range .Canceled}}<option value="{{.Code}}">{{.Code}} {{.Message}}</option>{{end}}</select>
<button id="cancel" class="warn" type="submit">Get canceled</button>
</form></section>
<section><h2>Fraud suspicion</h2>
<form method="post" action="/identifications/{{.Ident.ID}}/actions">
<input type="hidden" name="action" value="fraud">
<label for="fraud-reason">Fraud suspicion reason</label>
<select id="fraud-reason" name="reasonCode">{{range .Fraud}}<option value="{{.Code}}">{{.Code}} {{.Message}}</option>{{end}}</select>
<label for="fraud-result">Result</label>
<select id="fraud-result" name="result"><option value="FRAUD_SUSPICION_CONFIRMED">FRAUD_SUSPICION_CONFIRMED</option><option value="FRAUD_SUSPICION_PENDING">FRAUD_SUSPICION_PENDING</option></select>
<button id="fraud" class="danger" type="submit">Trigger fraud suspicion</button>
</form></section>
{{if .CanAbort}}
<section><h2>Provider review pending</h2>
<p class="muted">Sends qes.created and qes.processing (REVIEW_PENDING) only; decide later on this page.</p>
<form method="post" action="/identifications/{{.Ident.ID}}/actions">
<input type="hidden" name="action" value="review-pending">
<button id="review-pending" class="plain" type="submit">Leave under review</button>
</form></section>
{{end}}
{{else}}
<section><p>This identification has ended; no action is possible.</p>{{template "payin" .}}</section>
{{end}}
{{template "foot"}}{{end}}

{{define "payin"}}{{if .ShowPayin}}
<form method="post" action="/identifications/{{.Ident.ID}}/payin">
<p class="muted">Germany: QES needs a SEPA transfer into the user's wallet.</p>
<button id="sepa-payin" type="submit">Simulate SEPA payin</button>
</form>{{end}}{{end}}

{{define "done"}}{{template "head" "Done"}}
<h1 id="confirmation">{{.Title}}</h1>
<section>
{{if .Error}}<p class="err" id="error">{{.Error}}</p>{{else}}<p class="ok">{{.Message}}</p>{{end}}
{{if .Webhooks}}<p>Webhooks queued for delivery:</p><ul>{{range .Webhooks}}<li><code>{{.}}</code></li>{{end}}</ul>{{end}}
{{if .Ident.ID}}{{template "payin" .}}
{{if .RedirectURL}}<p><a id="return-link" href="{{.RedirectURL}}">Return to the application</a></p>{{end}}
<p><a id="back" href="/identifications/{{.Ident.ID}}">Back to the identification</a></p>{{end}}
{{if .BackToDesk}}<p><a id="back" href="/kyc">Back to the KYC desk</a></p>{{end}}
</section>
{{template "foot"}}{{end}}

{{define "kyc"}}{{template "head" "KYC desk"}}
<h1>KYC desk</h1>
<section><h2>Pending reviews</h2>
{{if not .Pending}}<p class="muted" id="no-pending">No KYC review is waiting.</p>{{end}}
{{range .Pending}}
<form method="post" action="/kyc/{{.UserID}}" style="border-bottom:1px solid #e5e9ee;padding:.6rem 0">
<p>User <code>{{.UserID}}</code> <span class="muted">requested {{.RequestedAt}}, country {{.Country}}</span></p>
<label for="comment-{{.UserID}}">Comment</label>
<textarea id="comment-{{.UserID}}" name="comment" rows="2" maxlength="500"></textarea>
<button id="validate-{{.UserID}}" name="decision" value="validate" type="submit">Validate</button>
<button id="refuse-{{.UserID}}" name="decision" value="refuse" class="danger" type="submit">Refuse</button>
</form>
{{end}}</section>
{{if .Decisions}}<section><h2>Recent decisions</h2><table><tr><th>User</th><th>Decision</th><th>At</th></tr>
{{range .Decisions}}<tr><td><code>{{.UserID}}</code></td><td>{{.Decision}}</td><td>{{.At}}</td></tr>{{end}}</table></section>{{end}}
{{template "foot"}}{{end}}

{{define "index"}}{{template "head" "Home"}}
<h1>Treezor sandbox simulator</h1>
<section><p>Speaks Treezor's API under <code>/v1</code> and <code>/oauth/token</code>, and sends signed webhooks.
KYC reviews waiting: <a href="/kyc">{{.PendingReviews}}</a>.</p></section>
<section><h2>Recent identifications</h2>
{{if not .Identifications}}<p class="muted">None yet.</p>{{else}}<table><tr><th>Identification</th><th>User</th><th>State</th><th>Result</th></tr>
{{range .Identifications}}<tr><td><a href="/identifications/{{.ID}}">{{.ID}}</a></td><td><code>{{.UserID}}</code></td><td>{{.State}}</td><td>{{.Result}} {{if .Reason}}({{.Reason}}){{end}}</td></tr>{{end}}</table>{{end}}
</section>
{{template "foot"}}{{end}}
`))
