import type { Module } from "../../platform/module";
import { createRouter } from "../../platform/openapi";
import { purgeAccountFilesTask } from "./account-cleanup";
import * as handlers from "./handlers";
import * as routes from "./routes";
import * as sessionHandlers from "./sessions/handlers";
import * as sessionRoutes from "./sessions/routes";
import { filesCrons, hashFileTask } from "./tasks";

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
    .openapi(routes.linkContent, handlers.linkContent)
    .openapi(sessionRoutes.startUpload, sessionHandlers.startUpload)
    .openapi(sessionRoutes.getUpload, sessionHandlers.getUpload)
    .openapi(sessionRoutes.putPart, sessionHandlers.putPart)
    .openapi(sessionRoutes.completeUpload, sessionHandlers.completeUpload)
    .openapi(sessionRoutes.abortUpload, sessionHandlers.abortUpload)
    .openapi(sessionRoutes.issueUploadUrl, sessionHandlers.issueUploadUrl)
    .openapi(sessionRoutes.putSigned, sessionHandlers.putSigned),
  tasks: [hashFileTask, purgeAccountFilesTask],
  crons: filesCrons,
};
