// A small integration program written as an integrator would, against the client types that
// openapi-typescript generates from starter/openapi.json (src/api.d.ts, default settings). It
// calls every operation once; .ci/run type-checks it in strict mode, and it runs against a
// live stack with: QESFLOW_URL, QESFLOW_ONBOARDING_KEY, QESFLOW_COMPLIANCE_KEY, QESFLOW_USER_ID.
import createClient from "openapi-fetch";
import type { components, paths } from "./api.js";

type Problem = components["schemas"]["Problem"];
type UserStatus = components["schemas"]["UserStatus"];

function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

function fail(what: string, problem?: Problem): never {
  throw new Error(`${what}: ${problem ? `${problem.code} (${problem.status}) ${problem.detail ?? ""}` : "no answer"}`);
}

// A refusal an integrator handles by its code, never by parsing the type URI or the detail.
function expectCode(problem: Problem | undefined, ...codes: components["schemas"]["ProblemCode"][]): void {
  if (!problem || !codes.includes(problem.code)) fail(`expected ${codes.join(" or ")}`, problem);
}

async function main(): Promise<void> {
  const baseUrl = env("QESFLOW_URL");
  const userId = env("QESFLOW_USER_ID");
  const onboarding = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${env("QESFLOW_ONBOARDING_KEY")}` } });
  const compliance = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${env("QESFLOW_COMPLIANCE_KEY")}` } });
  const path = { params: { path: { userId } } };

  const doc = await onboarding.GET("/openapi.json");
  if (!doc.data) fail("getOpenAPIDocument");

  // createOnboarding: "override" is optional, so this compiles without it.
  const created = await onboarding.POST("/v1/onboardings", { body: { userId, country: "FR" } });
  if (!created.data) fail("createOnboarding", created.error);
  const link: string | undefined = created.data.identificationURL;
  console.log(`createOnboarding: ${created.response.status} ${created.data.status} attempt ${created.data.attempt} url ${link ? "yes" : "no"}`);

  const status = await onboarding.GET("/v1/onboardings/{userId}", path);
  if (!status.data) fail("getOnboardingStatus", status.error);
  const us: UserStatus = status.data;
  if (us.status === "ACTION_REQUIRED" && us.actionRequired !== "COMPLETE_IDENTIFICATION") {
    fail(`unexpected action ${us.actionRequired}`);
  }
  // While the user must act, the status carries the link (the new one after an automatic retry).
  const current: string | undefined = us.identificationURL;
  if (us.actionRequired === "COMPLETE_IDENTIFICATION" && current !== link) fail("the status does not carry the identification URL");
  console.log(`getOnboardingStatus: ${us.status} ${us.actionRequired ?? "-"} url ${current ? "yes" : "no"}`);

  const details = await compliance.GET("/v1/onboardings/{userId}/details", path);
  if (!details.data) fail("getOnboardingDetails", details.error);
  const review: components["schemas"]["KYCReview"] | undefined = details.data.kycReview;
  // The wire must hold what the types promise: a name, never Treezor's integer.
  const reviews: readonly unknown[] = ["NONE", "PENDING", "VALIDATED", "REFUSED", "INVESTIGATING", "CLOSED", "REVIEW_OPEN", "REVIEW_PENDING"];
  if (review !== undefined && !reviews.includes(review)) fail(`kycReview ${JSON.stringify(review)} is not a name`);
  if (review === "VALIDATED") fail("a new onboarding cannot be validated yet");
  console.log(`getOnboardingDetails: ${details.data.state} kycReview ${review ?? "-"}`);

  // Outside a compliance review a decision does not apply; an older server accepts it.
  const decided = await compliance.POST("/v1/onboardings/{userId}/compliance-decision", {
    ...path, body: { decision: "clear", note: "integration check" },
  });
  if (decided.error) expectCode(decided.error, "action-not-applicable");
  console.log(`decideCompliance: ${decided.response.status} ${decided.error?.code ?? "accepted"}`);

  const restarted = await onboarding.POST("/v1/onboardings/{userId}/restart", { ...path, body: { reason: "integration check" } });
  if (restarted.error) expectCode(restarted.error, "action-not-applicable");
  console.log(`restartOnboarding: ${restarted.response.status} ${restarted.error?.code ?? "accepted"}`);

  const cancelled = await onboarding.POST("/v1/onboardings/{userId}/cancel", { ...path, body: { reason: "integration check" } });
  if (!cancelled.response.ok) fail("cancelOnboarding", cancelled.error);
  console.log(`cancelOnboarding: ${cancelled.response.status}`);

  let readCancelled = false;
  for (let i = 0; i < 100 && !readCancelled; i++) {
    const after = await onboarding.GET("/v1/onboardings/{userId}", path);
    readCancelled = after.data?.status === "CANCELLED";
    if (!readCancelled) await new Promise((r) => setTimeout(r, 200));
  }
  if (!readCancelled) fail("the onboarding never read CANCELLED");

  // listOnboardings: visibility follows within a moment; page until the user shows up.
  type Listed = components["schemas"]["ListedOnboarding"];
  for (let i = 0; i < 100; i++) {
    let pageToken: string | undefined;
    let found: Listed | undefined;
    do {
      const page = await compliance.GET("/v1/onboardings", {
        params: { query: pageToken ? { status: ["CANCELLED"], pageSize: 50, pageToken } : { status: ["CANCELLED"], pageSize: 50 } },
      });
      if (!page.data) fail("listOnboardings", page.error);
      found = page.data.onboardings.find((o: Listed) => o.userId === userId) ?? found;
      pageToken = page.data.nextPageToken;
    } while (pageToken && !found);
    if (found) {
      if (found.state !== "CANCELLED" || !found.final) fail(`listed as ${found.state}`);
      const own = await onboarding.GET("/v1/onboardings", { params: { query: { status: ["CANCELLED"], pageSize: 1 } } });
      if (!own.data) fail("listOnboardings (onboarding scope)", own.error);
      if (own.data.onboardings.some((o: Listed) => o.state !== undefined)) fail("the onboarding scope sees internal states");
      console.log(`listOnboardings: ${found.status} since ${found.updatedAt}`);
      console.log("integration: ok");
      return;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  fail("the cancelled onboarding was never listed");
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
