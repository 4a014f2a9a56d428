import { PG_SKIP, postgresDatabase } from "../helpers/databases.ts";
import { runStoreConformance } from "./conformance.ts";

runStoreConformance({ name: "postgres", open: () => postgresDatabase(), skip: PG_SKIP });
