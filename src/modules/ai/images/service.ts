import { type AiCaller, pricedCall } from "../metering";
import { imagesCostOf } from "../pricing";
import { imagesProviderOf } from "../providers";
import { deploymentsOf } from "../registry";
import type { ImagesBody } from "./schema";

/** Images: the price of `n` images is known before the call; the images made are charged. */
export async function generateImages(caller: AiCaller, body: ImagesBody, clientSignal: AbortSignal) {
  const config = caller.config;
  const request = {
    prompt: body.prompt,
    n: body.n,
    size: body.size,
    quality: body.quality,
    format: body.response_format,
  };
  const { result: images, charged } = await pricedCall(
    caller,
    {
      endpoint: "images.generations",
      requestedModel: body.model,
      sentFields: Object.keys(body),
      deployments: deploymentsOf(config, body.model, ["images"]),
      ceiling: (model) => imagesCostOf(model.prices, body.n, body.size, body.quality),
      timeoutMs: config.AI_TOTAL_TIMEOUT_MS,
      run: (model, signal) =>
        imagesProviderOf(config, model.provider).generate({ ...request, model: model.upstream }, signal),
      measure: (model, made) => ({ cost: imagesCostOf(model.prices, made.length, body.size, body.quality) }),
    },
    clientSignal,
  );
  return {
    charged,
    body: {
      created: Math.floor(Date.now() / 1000),
      data: images.map((image) => ({
        ...(image.url ? { url: image.url } : {}),
        ...(image.b64Json ? { b64_json: image.b64Json } : {}),
        ...(image.revisedPrompt ? { revised_prompt: image.revisedPrompt } : {}),
      })),
      usage: { cost_millicredits: charged },
    },
  };
}
