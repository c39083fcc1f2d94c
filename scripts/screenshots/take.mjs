// Takes the README's screenshots from a running demo (scripts/develop).
// Usage: node take.mjs BASE_URL SIMULATOR_URL OUT_DIR CHROMIUM
// It onboards the demo, adds the line and a saved call through the UI's
// REST APIs, puts a button card on a dashboard and photographs five pages.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const [base, simulator, out, executablePath] = process.argv.slice(2);
const clientId = `${base}/`;
mkdirSync(out, { recursive: true });

async function rest(method, path, token, body) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      "Content-Type": "application/json",
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

// Onboarding: the user, then the remaining steps, so the UI opens normally.
const { auth_code } = await rest("POST", "/api/onboarding/users", null, {
  client_id: clientId,
  name: "Demo",
  username: "demo",
  password: "demo-demo-demo",
  language: "en",
});
const tokenResponse = await fetch(`${base}/auth/token`, {
  method: "POST",
  body: new URLSearchParams({
    grant_type: "authorization_code",
    code: auth_code,
    client_id: clientId,
  }),
});
const tokens = await tokenResponse.json();
const token = tokens.access_token;
await rest("POST", "/api/onboarding/core_config", token, {});
await rest("POST", "/api/onboarding/analytics", token, {});
await rest("POST", "/api/onboarding/integration", token, {
  client_id: clientId,
  redirect_uri: `${base}/?auth_callback=1`,
});

// The line, against the demo's simulator, and a saved call.
let flow = await rest("POST", "/api/config/config_entries/flow", token, {
  handler: "infocaller",
});
const created = await rest(
  "POST",
  `/api/config/config_entries/flow/${flow.flow_id}`,
  token,
  {
    idinfocaller: "34910000000",
    password: "demo1234",
    advanced: { endpoint: simulator },
  },
);
const entryId = created.result.entry_id;
flow = await rest("POST", "/api/config/config_entries/subentries/flow", token, {
  handler: [entryId, "saved_call"],
});
await rest(
  "POST",
  `/api/config/config_entries/subentries/flow/${flow.flow_id}`,
  token,
  {
    name: "El fontanero",
    phone: "611 22 23 33",
    rule_group: "Click to Call",
    message_variable: "MENSAJE",
  },
);
// One call, so that the entities show a result.
await rest("POST", "/api/services/button/press", token, {
  entity_id: "button.call_el_fontanero",
});

const browser = await chromium.launch({
  executablePath,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const context = await browser.newContext({
  viewport: { width: 1280, height: 800 },
  deviceScaleFactor: 1,
  colorScheme: "light",
});
// Logged in: the frontend reads its tokens from localStorage.
await context.addInitScript(
  ([stored]) => window.localStorage.setItem("hassTokens", stored),
  [
    JSON.stringify({
      ...tokens,
      hassUrl: base,
      clientId,
      expires: Date.now() + tokens.expires_in * 1000,
    }),
  ],
);
const page = await context.newPage();

// Home Assistant 2026 asks once to confirm the HTTP settings it found in
// configuration.yaml; confirm, so that no dialog covers the pictures.
async function confirmHttpSettings() {
  const dialog = page.getByText("Confirm new HTTP server configuration");
  try {
    await dialog.waitFor({ timeout: 5_000 });
  } catch {
    return;
  }
  await page.getByRole("button", { name: "Confirm" }).click();
  await dialog.waitFor({ state: "hidden" });
}

async function shot(path, name, waitForText, before = async () => {}) {
  await page.goto(`${base}${path}`);
  await before();
  try {
    await page.getByText(waitForText).first().waitFor({ timeout: 60_000 });
  } catch (err) {
    await page.screenshot({ path: `${out}/failed-${name}.png` });
    throw err;
  }
  await page.waitForTimeout(1500); // let animations settle
  await page.screenshot({ path: `${out}/${name}.png` });
  console.log(`${out}/${name}.png`);
}

async function callWS(message) {
  return page.evaluate(
    (msg) => document.querySelector("home-assistant").hass.callWS(msg),
    message,
  );
}

await page.goto(`${base}/`);
await confirmHttpSettings();

// 1. The setup form.
await shot(
  "/config/integrations/dashboard/add?domain=infocaller",
  "setup-form",
  "Service number",
  async () => {
    const ok = page.getByRole("button", { name: "OK" });
    await ok.waitFor({ timeout: 30_000 });
    await ok.click();
  },
);

// 2. The line's page: its saved calls, each with its gear (Reconfigure).
await shot(
  "/config/integrations/integration/infocaller",
  "integration-page",
  "El fontanero",
);

// 3. A saved call's device with its button and result.
const devices = await callWS({ type: "config/device_registry/list" });
const device = devices.find((d) => d.name === "Call El fontanero");
await shot(`/config/devices/device/${device.id}`, "saved-call-device", "Last result");

// 4. The action form.
// The action page remembers the last action in localStorage: preset it.
await page.evaluate(() =>
  window.localStorage.setItem(
    "panel-dev-action-state-service-data",
    JSON.stringify({
      action: "infocaller.issue_call",
      data: {
        phone: "+34 611 22 23 33",
        rule_group: "Aviso",
        variables: { ESTADO: 2 },
      },
    }),
  ),
);
await shot("/developer-tools/action", "action-form", "Rule group");

// 5. A dashboard card that presses the button (on a dashboard of its own:
// Home Assistant 2026's Overview is generated).
await callWS({
  type: "lovelace/dashboards/create",
  url_path: "infocaller-demo",
  title: "Infocaller",
  icon: "mdi:phone",
  mode: "storage",
  require_admin: false,
  show_in_sidebar: true,
});
await callWS({
  type: "lovelace/config/save",
  url_path: "infocaller-demo",
  config: {
    views: [
      {
        title: "Home",
        cards: [
          {
            type: "entities",
            title: "Infocaller",
            entities: [
              {
                entity: "sensor.infocaller_34910000000_last_result",
                name: "Last result",
              },
              {
                entity: "sensor.infocaller_34910000000_last_call",
                name: "Last call",
              },
              {
                entity: "binary_sensor.infocaller_34910000000_line_problem",
                name: "Line problem",
              },
            ],
          },
          {
            type: "button",
            entity: "button.call_el_fontanero",
            name: "Llamar al fontanero",
            icon: "mdi:phone",
            show_state: false,
            tap_action: {
              action: "perform-action",
              perform_action: "button.press",
              target: { entity_id: "button.call_el_fontanero" },
            },
          },
          {
            type: "entity",
            entity: "sensor.call_el_fontanero_last_result",
            name: "El fontanero: last result",
          },
        ],
      },
    ],
  },
});
await shot("/infocaller-demo/0", "dashboard-card", "Llamar al fontanero");

await browser.close();
