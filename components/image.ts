// The checker's image: one given, or built from checker/Dockerfile into a private ECR repository
// the component owns (how, from a checkout or an installed package alike: image-build.ts). The
// verify experiment runs the same image in its extra modes.

import * as aws from "@pulumi/aws";
import * as awsx from "@pulumi/awsx"; // awsx only to build and push the image
import * as pulumi from "@pulumi/pulumi";
import { imageBuild } from "./image-build";

/** The repository ARN of a private ECR image URI, so the execution role may pull it. */
export function ecrRepositoryArn(image: string, partition: string): string | undefined {
  const m = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([^:@]+)/.exec(image);
  return m ? `arn:${partition}:ecr:${m[2]}:${m[1]}:repository/${m[3]}` : undefined;
}

export function checkerImage(
  name: string,
  args: { readonly image?: pulumi.Input<string>; readonly architecture: "ARM64" | "X86_64" },
  partition: pulumi.Input<string>,
  tags: Record<string, string>,
  parent: pulumi.CustomResourceOptions,
): { imageUri: pulumi.Output<string>; repositoryArn: pulumi.Output<string | undefined> } {
  if (args.image !== undefined) {
    const imageUri = pulumi.output(args.image);
    return {
      imageUri,
      repositoryArn: pulumi
        .all([imageUri, partition])
        .apply(([uri, p]) => ecrRepositoryArn(uri, p)),
    };
  }
  const repo = new aws.ecr.Repository(
    `${name}-repo`,
    {
      imageTagMutability: "IMMUTABLE",
      imageScanningConfiguration: { scanOnPush: true },
      forceDelete: true,
      tags,
    },
    parent,
  );
  const build = imageBuild();
  const image = new awsx.ecr.Image(
    `${name}-image`,
    {
      repositoryUrl: repo.repositoryUrl,
      context: build.context,
      dockerfile: build.dockerfile,
      args: { ...build.args },
      platform: args.architecture === "ARM64" ? "linux/arm64" : "linux/amd64",
    },
    parent,
  );
  return { imageUri: image.imageUri, repositoryArn: repo.arn };
}
