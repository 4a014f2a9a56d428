/**
 * The admin API: directive lifecycle, impact, notices, reports. The gateway mounts the app next
 * to itself and asks the NoticeBoard for each org's `x-clearance-notice` header.
 */
export { ADMIN_PREFIX, type AdminAppOptions, buildAdminApp, toErrorBody } from "./app.ts";
export { ADMIN_CODES, type AdminCode, AdminError } from "./errors.ts";
export { NoticeBoard, noticeHeader } from "./notice-board.ts";
export { signWebhook, verifyWebhook, type WebhookOptions } from "./notices.ts";
export { hashAdminToken, issueAdminToken } from "./tokens.ts";
