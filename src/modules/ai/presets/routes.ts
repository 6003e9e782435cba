import { authRoute } from "../../../middleware/auth";
import { jsonRequestBody, jsonResponse } from "../../../platform/openapi";
import {
  CreatePresetBody,
  PresetListSchema,
  PresetParams,
  PresetSchema,
  PresetsQuery,
  UpdatePresetBody,
} from "./schema";

const tags = ["Presets"];
const accountNote =
  "Presets belong to the request's account: without `X-Stratus-Org`, the caller's private presets; with it, that org's shared presets (every member reads them). A preset of another account answers 404.";
const changeNote = "An org's shared preset is changed by its creator or the org's owners and admins (others get 403).";

export const createPreset = authRoute(
  {
    method: "post",
    path: "/v1/presets",
    tags,
    summary: "Save a preset",
    description: `${accountNote} 400 for \`visibility\` that does not match the account (\`org\` needs \`X-Stratus-Org\`); 409 past 500 presets per account.`,
    request: { body: jsonRequestBody(CreatePresetBody) },
    responses: { 201: jsonResponse(PresetSchema, "The preset") },
  },
  { scope: "ai", errors: ["conflict"] },
);

export const listPresets = authRoute(
  {
    method: "get",
    path: "/v1/presets",
    tags,
    summary: "The account's presets, newest first",
    description: accountNote,
    request: { query: PresetsQuery },
    responses: { 200: jsonResponse(PresetListSchema, "A page of presets") },
  },
  { scope: "ai" },
);

export const getPreset = authRoute(
  {
    method: "get",
    path: "/v1/presets/{id}",
    tags,
    summary: "One preset",
    description: accountNote,
    request: { params: PresetParams },
    responses: { 200: jsonResponse(PresetSchema, "The preset") },
  },
  { scope: "ai" },
);

export const updatePreset = authRoute(
  {
    method: "patch",
    path: "/v1/presets/{id}",
    tags,
    summary: "Change a preset",
    description: `${accountNote} ${changeNote}`,
    request: { params: PresetParams, body: jsonRequestBody(UpdatePresetBody) },
    responses: { 200: jsonResponse(PresetSchema, "The preset") },
  },
  { scope: "ai" },
);

export const deletePreset = authRoute(
  {
    method: "delete",
    path: "/v1/presets/{id}",
    tags,
    summary: "Delete a preset",
    description: `${accountNote} ${changeNote}`,
    request: { params: PresetParams },
    responses: { 204: { description: "Deleted" } },
  },
  { scope: "ai" },
);
