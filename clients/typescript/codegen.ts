// graphql-codegen's client preset: `npm run codegen` writes src/gql/ from the service's
// schema and the operations written with graphql() in src/.
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "../../schema.graphql",
  documents: ["src/**/*.ts", "!src/gql/**"],
  generates: {
    "src/gql/": {
      preset: "client",
      config: {
        // Without these the custom scalars are `unknown`.  Money and Percent are exact
        // decimal strings ("1250.50"): keep them strings, or parse them into a decimal
        // type, never into a JavaScript number.  DateTime is an ISO 8601 string.
        scalars: { Money: "string", Percent: "string", DateTime: "string" },
        enumsAsTypes: true,
        // Documents as strings: a plain fetch() can send them, no GraphQL client needed.
        documentMode: "string",
      },
    },
  },
};

export default config;
