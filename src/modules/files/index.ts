import type { Module } from "../../platform/module";
import { createRouter } from "../../platform/openapi";
import * as handlers from "./handlers";
import * as routes from "./routes";
import { filesCrons } from "./tasks";

export const filesModule: Module = {
  name: "files",
  router: createRouter()
    .openapi(routes.uploadFile, handlers.uploadFile)
    .openapi(routes.listFiles, handlers.listFiles)
    .openapi(routes.getFile, handlers.getFile)
    .openapi(routes.renameFile, handlers.renameFile)
    .openapi(routes.deleteFile, handlers.deleteFile)
    .openapi(routes.fileContent, handlers.fileContent)
    .openapi(routes.createLink, handlers.createLink)
    .openapi(routes.listLinks, handlers.listLinks)
    .openapi(routes.revokeLink, handlers.revokeLink)
    .openapi(routes.linkContent, handlers.linkContent),
  crons: filesCrons,
};
