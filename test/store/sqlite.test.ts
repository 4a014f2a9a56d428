import { sqliteDatabase } from "../helpers/databases.ts";
import { runStoreConformance } from "./conformance.ts";

runStoreConformance({ name: "sqlite", open: sqliteDatabase });
