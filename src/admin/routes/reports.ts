import type { FastifyInstance } from "fastify";
import type { CompiledPolicy } from "../../policy/index.ts";
import { type AdminContext, ALL_ROLES } from "../context.ts";
import { AdminError } from "../errors.ts";
import { compiled, currentPolicy } from "../policies.ts";
import {
  accessMatrix,
  accessMatrixCsv,
  cohortReport,
  cohortReportCsv,
  cohortReportHtml,
} from "../reports.ts";
import { parseAtParam } from "./lifecycle.ts";
import { ID } from "./schemas.ts";

const READ = { roles: ALL_ROLES };
const AUDITOR = { roles: ["auditor"] as const };

export function registerReportRoutes(api: FastifyInstance, ctx: AdminContext): void {
  const tags = ["reports"];
  api.get<{
    Querystring: { cohort: string; authority?: string; to?: string; format?: "json" | "csv" | "html" };
  }>(
    "/reports/cohort",
    {
      config: AUDITOR,
      schema: {
        tags,
        summary: "cohort participation for an authority: members, since when, requests by model per month",
        querystring: {
          type: "object",
          additionalProperties: false,
          required: ["cohort"],
          properties: {
            cohort: ID,
            authority: {
              type: "string",
              maxLength: 200,
              description: "must be the authority the cohort is disclosed to",
            },
            to: { type: "string", description: "end of the period (default now)" },
            format: { type: "string", enum: ["json", "csv", "html"], default: "json" },
          },
        },
      },
    },
    async (req, reply) => {
      const { cohort, authority, format = "json" } = req.query;
      req.admin.target = `cohort:${cohort}`;
      const to = parseAtParam(req.query.to);
      const report = await cohortReport(ctx.store, {
        cohort,
        ...(authority !== undefined ? { authority } : {}),
        ...(to !== undefined ? { to } : {}),
        now: ctx.now(),
      });
      if (format === "csv") return reply.type("text/csv; charset=utf-8").send(cohortReportCsv(report));
      if (format === "html") return reply.type("text/html; charset=utf-8").send(cohortReportHtml(report));
      return report;
    },
  );

  api.get<{
    Querystring: {
      at?: string;
      format?: "json" | "csv";
      cohorts?: boolean;
      version?: number;
      sector?: string;
      verified?: boolean;
    };
  }>(
    "/reports/access-matrix",
    {
      config: READ,
      schema: {
        tags,
        summary: "model × country (× cohort) as of an instant: allow/deny, requirements, reasons",
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: {
            at: { type: "string", description: "default now" },
            format: { type: "string", enum: ["json", "csv"], default: "json" },
            cohorts: { type: "boolean", default: false, description: "add a row per cohort of the policy" },
            version: { type: "integer", minimum: 1, description: "a published version; default the latest" },
            sector: { type: "string", maxLength: 100 },
            verified: { type: "boolean" },
          },
        },
      },
    },
    async (req, reply) => {
      const q = req.query;
      let policy: CompiledPolicy;
      if (q.version !== undefined) {
        const v = await ctx.store.getPolicyVersion(q.version);
        if (!v) throw new AdminError("ADMIN_NOT_FOUND", `no policy version ${q.version}`);
        policy = compiled(v.document, v.sha256);
      } else {
        const current = await currentPolicy(ctx.store);
        if (!current.version) throw new AdminError("ADMIN_NO_POLICY", "no policy version is published yet");
        policy = current.policy;
      }
      const matrix = accessMatrix(policy, parseAtParam(q.at) ?? ctx.now(), {
        byCohort: q.cohorts ?? false,
        ...(q.sector !== undefined ? { sector: q.sector } : {}),
        ...(q.verified !== undefined ? { verified: q.verified } : {}),
      });
      if (q.format === "csv") return reply.type("text/csv; charset=utf-8").send(accessMatrixCsv(matrix));
      return matrix;
    },
  );
}
