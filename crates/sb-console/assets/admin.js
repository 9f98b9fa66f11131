// The admin pages: one module per section (admin-*.js); the page names its section in
// `data-section`, and only that section's module runs. The server has already refused the
// page to anyone without the section's permission; the API refuses their changes too.

import "./shell.js";
import { connect } from "./live.js";
import * as users from "./admin-users.js";
import * as tokens from "./admin-tokens.js";
import * as policy from "./admin-policy.js";
import * as templates from "./admin-templates.js";
import * as articles from "./admin-articles.js";
import * as audit from "./admin-audit.js";
import * as mailboxes from "./admin-mailboxes.js";

const SECTIONS = { users: users.init, tokens: tokens.init, sla: policy.initSla, thresholds: policy.initThresholds, templates: templates.init, articles: articles.init, mailboxes: mailboxes.init, audit: audit.init };

const section = document.querySelector(".admin-main")?.dataset.section;
await SECTIONS[section]?.();
connect();
