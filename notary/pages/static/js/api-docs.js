// Starts Swagger UI (served from the packaged copy) on this service's OpenAPI document.
const root = document.getElementById("swagger-ui");
window.SwaggerUIBundle({ url: root.dataset.spec, domNode: root, deepLinking: false });
