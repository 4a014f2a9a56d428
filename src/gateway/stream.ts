import { StringDecoder } from "node:string_decoder";
import { renameModel } from "./providers/index.ts";

/**
 * Renames the model in a server-sent event stream as it passes: complete lines go out at once
 * (so each event is flushed as it arrives); only a trailing partial line waits for its end.
 * Used only when the upstream's model name differs from the one the caller should see.
 */
export class SseModelRenamer {
  private rest = "";
  private readonly decoder = new StringDecoder("utf8");

  constructor(private readonly model: string) {}

  push(chunk: Buffer): string {
    const text = this.rest + this.decoder.write(chunk);
    const cut = text.lastIndexOf("\n");
    if (cut < 0) {
      this.rest = text;
      return "";
    }
    this.rest = text.slice(cut + 1);
    return this.rewrite(text.slice(0, cut + 1));
  }

  end(): string {
    const text = this.rest + this.decoder.end();
    this.rest = "";
    return this.rewrite(text);
  }

  private rewrite(lines: string): string {
    if (!lines.includes('"model"')) return lines;
    return lines
      .split("\n")
      .map((line) => {
        if (!line.startsWith("data:") || !line.includes('"model"')) return line;
        const data = line.slice(5).trim();
        try {
          const obj: unknown = JSON.parse(data);
          return renameModel(obj, this.model) ? `data: ${JSON.stringify(obj)}` : line;
        } catch {
          return line;
        }
      })
      .join("\n");
  }
}

/** A non-streaming JSON body with the model renamed; the bytes unchanged when there is nothing to rename. */
export function renameInJson(body: Buffer, model: string): Buffer {
  try {
    const obj: unknown = JSON.parse(body.toString("utf8"));
    return renameModel(obj, model) ? Buffer.from(JSON.stringify(obj)) : body;
  } catch {
    return body;
  }
}
